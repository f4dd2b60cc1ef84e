"""Feature requests API: propose, list (with whether the account voted), vote; staff's status and merge."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from feature_requests import logic
from feature_requests.schemas import FeatureRequestOut, MergeInto, Proposal, StatusChange

from shared.clock import SystemClock
from shared.dal.feature_requests import FeatureRequests
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for

app = create_app()
repo = FeatureRequests()
clock = SystemClock()
TAGS, STAFF_TAGS = ["Nuevas funcionalidades"], ["Personal", "Nuevas funcionalidades"]


@app.get("/me/feature-requests", tags=TAGS, summary="Pedidos de nuevas funcionalidades (los más votados primero)",
         security=SECURED, responses=answers())
def list_requests() -> list[FeatureRequestOut]:
    return logic.listed(repo, current_identity(app))


@app.post("/me/feature-requests", tags=TAGS, summary="Proponer una nueva funcionalidad",
          description="La cuenta que la propone la vota.", security=SECURED, responses=answers(201, "Propuesta"))
def propose(body: Proposal) -> tuple[FeatureRequestOut, int]:
    return logic.propose(repo, clock, current_identity(app), body), 201


@app.post("/me/feature-requests/<feature_id>/vote", tags=TAGS, summary="Votar un pedido (un voto por cuenta)",
          security=SECURED, responses=answers())
def vote(feature_id: str) -> FeatureRequestOut:
    return logic.vote(repo, clock, current_identity(app), feature_id)


@app.get("/staff/feature-requests", tags=STAFF_TAGS, summary="Todos los pedidos, también los unidos a otros",
         security=SECURED, responses=answers())
def staff_list() -> list[FeatureRequestOut]:
    return logic.staff_listed(repo, current_identity(app))


@app.post("/staff/feature-requests/<feature_id>/status", tags=STAFF_TAGS,
          summary="Cambiar el estado de un pedido, con una nota pública",
          description="Las cuentas que lo votaron reciben el aviso del cambio.", security=SECURED,
          responses=answers())
def staff_status(feature_id: str, body: StatusChange) -> FeatureRequestOut:
    return logic.set_status(repo, clock, current_identity(app), feature_id, body.status, body.public_note)


@app.post("/staff/feature-requests/<feature_id>/merge", tags=STAFF_TAGS,
          summary="Unir un pedido duplicado a otro (sus votos pasan, uno por cuenta)", security=SECURED,
          responses=answers())
def staff_merge(feature_id: str, body: MergeInto) -> FeatureRequestOut:
    return logic.merge(repo, clock, current_identity(app), feature_id, body.into_request_id)


lambda_handler = lambda_handler_for(app)
