"""Feature requests (help centre: "Como pedir nueva funcionalidad"; docs/feature-requests.md).

- Any person of an account proposes one (its account votes for it at once) and votes once per account: the vote is
  a conditional write of the account's FeatureVote, in the transaction that counts it on the request.
- Staff set the status with a public note (``feature_request.status_changed``: the notices worker tells each voting
  account) and merge a duplicate into another: its votes move, one per account (an account that voted for both keeps
  one), in transactions of at most MOVE_CHUNK votes that each leave both counters true.
"""

from datetime import datetime

from feature_requests.schemas import FeatureRequestOut, Proposal

from shared.auth import Identity, require_account, require_staff
from shared.clock import Clock, from_storage, to_storage
from shared.dal.feature_requests import FeatureRequest, FeatureRequests, FeatureVote
from shared.dal.table import not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at

VOTING = ("open", "planned", "in_progress")
MOVE_CHUNK = 40  # votes moved per transaction: 40 deletes + at most 40 puts + the two requests < 100
ATTEMPTS = 10  # each round at least one vote commits: ten accounts at once all get counted


class AlreadyVoted(Conflict):
    code = "already_voted"
    message = "Su cuenta ya votó este pedido."


class VotingClosed(Conflict):
    code = "voting_closed"
    message = "Este pedido ya no recibe votos."


class WrongMerge(Conflict):
    code = "wrong_merge"


def out(request: FeatureRequest, voted: bool) -> FeatureRequestOut:
    return FeatureRequestOut(request_id=request.request_id, title=request.title, description=request.description,
                             status=request.status, public_note=request.public_note, votes=request.votes, voted=voted,
                             merged_into=request.merged_into, created_at=from_storage(request.created_at),
                             updated_at=from_storage(request.updated_at))


def _get(repo: FeatureRequests, request_id: str) -> FeatureRequest:
    found = repo.get(request_id)
    if found is None:
        raise not_found()
    return found


def propose(repo: FeatureRequests, clock: Clock, identity: Identity, body: Proposal) -> FeatureRequestOut:
    client_id = require_account(identity)
    now = clock.now()
    stamp, request_id = to_storage(now), id_at(now)
    request = FeatureRequest(*FeatureRequest.key(request_id), request_id=request_id, title=body.title,
                             description=body.description, votes=1, proposed_by=client_id, created_at=stamp,
                             updated_at=stamp)
    request.list_in_features()
    with UnitOfWork() as uow:
        uow.create(request)
        uow.create(FeatureVote(*FeatureVote.key(request_id, client_id), request_id=request_id, client_id=client_id,
                               voted_by=identity.subject, voted_at=stamp))
    return out(request, voted=True)


def listed(repo: FeatureRequests, identity: Identity) -> list[FeatureRequestOut]:
    """Every account sees every request (they are the provider's roadmap, not an account's), most votes first, with
    whether its account voted; a merged one is shown through the request it joined."""
    client_id = require_account(identity)
    requests = sorted((r for r in repo.all_requests() if r.status != "merged"), key=lambda r: (-r.votes, r.request_id))
    mine = repo.voted(client_id, [r.request_id for r in requests])
    return [out(r, r.request_id in mine) for r in requests]


def staff_listed(repo: FeatureRequests, identity: Identity) -> list[FeatureRequestOut]:
    require_staff(identity)
    return [out(r, False) for r in sorted(repo.all_requests(), key=lambda r: (-r.votes, r.request_id))]


def vote(repo: FeatureRequests, clock: Clock, identity: Identity, request_id: str) -> FeatureRequestOut:
    client_id = require_account(identity)
    for _ in range(ATTEMPTS):  # another account's vote counted meanwhile: read the count again
        request = _get(repo, request_id)
        if request.status not in VOTING:
            raise VotingClosed()
        now = to_storage(clock.now())
        request.votes, request.updated_at = request.votes + 1, now
        try:
            with UnitOfWork() as uow:
                uow.create(FeatureVote(*FeatureVote.key(request.request_id, client_id), request_id=request.request_id,
                                       client_id=client_id, voted_by=identity.subject, voted_at=now),
                           error=AlreadyVoted())
                uow.save(request)
        except AlreadyVoted:
            raise
        except ConcurrentModification:
            continue
        return out(request, voted=True)
    raise ConcurrentModification()


def set_status(repo: FeatureRequests, clock: Clock, identity: Identity, request_id: str, status: str,
               note: str | None) -> FeatureRequestOut:
    require_staff(identity)
    request = _get(repo, request_id)
    if request.status == "merged":
        raise WrongMerge("Este pedido se unió a otro: cambie el estado de ese.", code="request_merged")
    now = clock.now()
    changed = request.status != status
    request.status, request.public_note, request.updated_at = status, note, to_storage(now)
    with UnitOfWork() as uow:
        uow.save(request)
        if changed:  # a note alone tells nobody: the voters hear of what changes for them
            uow.emit([_status_changed(request, now)])
    return out(request, voted=False)


def _status_changed(request: FeatureRequest, now: datetime):
    return new_event(EventType.FEATURE_REQUEST_STATUS_CHANGED, client_id=None, occurred_at=now, payload={
        "request_id": request.request_id, "title": request.title, "status": request.status,
        "public_note": request.public_note, "changed_at": request.updated_at})


def merge(repo: FeatureRequests, clock: Clock, identity: Identity, request_id: str, into_id: str) -> FeatureRequestOut:
    """The duplicate's votes move to the request it joins (an account that voted for both keeps one), a chunk per
    transaction, each leaving both counters true; then the duplicate is marked merged. Stopped half-way (a crash),
    the merge asked again carries on with the votes left."""
    require_staff(identity)
    if request_id == into_id:
        raise InvalidInput("Un pedido no se une a sí mismo.", code="wrong_merge", field="into_request_id")
    duplicate, into = _get(repo, request_id), _get(repo, into_id)
    if duplicate.status == "merged" or into.status == "merged":
        raise WrongMerge("Uno de los dos pedidos ya se unió a otro.")
    while True:
        left = repo.votes(duplicate.request_id)[:MOVE_CHUNK]
        if not left:
            break
        duplicate, into = _get(repo, request_id), _get(repo, into_id)  # as they are now (their versions)
        holders = {v.client_id for v in repo.votes(into.request_id)}
        stamp = to_storage(clock.now())
        moved = [v for v in left if v.client_id not in holders]
        duplicate.votes, into.votes = duplicate.votes - len(left), into.votes + len(moved)
        duplicate.updated_at = into.updated_at = stamp
        with UnitOfWork() as uow:
            for vote_item in left:
                uow.delete(vote_item)
            for vote_item in moved:
                uow.create(FeatureVote(*FeatureVote.key(into.request_id, vote_item.client_id),
                                       request_id=into.request_id, client_id=vote_item.client_id,
                                       voted_by=vote_item.voted_by, voted_at=vote_item.voted_at))
            uow.save(duplicate)
            uow.save(into)
    duplicate = _get(repo, request_id)
    duplicate.status, duplicate.merged_into, duplicate.votes = "merged", into.request_id, 0
    duplicate.updated_at = to_storage(clock.now())
    with UnitOfWork() as uow:
        uow.save(duplicate)
    return out(_get(repo, into_id), voted=False)
