"""Services API: my services, a service's page (manual, its data), its credentials (audited reveal, who saw them,
rotation), and staff's list of a client's services."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from aws_lambda_powertools.event_handler import Response
from services import credentials, downloads, logic
from services.schemas import (
    CredentialRevealsOut,
    DownloadLink,
    DownloadOut,
    DownloadPublish,
    DownloadUpload,
    MyService,
    RevealedCredentials,
    RotationOut,
    ServiceDetail,
    UploadForm,
)

from shared import config
from shared.aws import LazyClient
from shared.clock import SystemClock
from shared.dal.accounts import Accounts
from shared.dal.credential_reveals import CredentialReveals
from shared.dal.services import Services
from shared.dal.status import StatusRepository
from shared.http import SECURED, answers, create_app, current_identity, lambda_handler_for
from shared.schemas import ServiceSummary

app = create_app()
services, accounts, reveals, status = Services(), Accounts(), CredentialReveals(), StatusRepository()
kms = LazyClient("kms")
s3 = LazyClient("s3", signature_version="s3v4")  # buckets created since 2020 refuse SigV2 presigned requests
clock = SystemClock()
TAGS = ["Servicios"]


def _nameservers() -> list[str]:
    return [name.strip() for name in config.env(config.NAMESERVERS, "").split(",") if name.strip()]


@app.get("/me/services", tags=TAGS, summary="Mis servicios", security=SECURED, responses=answers())
def list_my_services() -> list[MyService]:
    return logic.my_services(services, accounts, status, current_identity(app))


@app.get(
    "/me/services/<service_id>",
    tags=TAGS,
    summary="Detalle y manual, con los datos del servicio",
    description="Las claves no vienen aquí: se ven con POST /services/{service_id}/credentials/reveal, que queda "
                "registrado.",
    security=SECURED,
    responses=answers(),
)
def get_my_service(service_id: str) -> ServiceDetail:
    return logic.my_service(accounts, status, current_identity(app), service_id, _nameservers())


@app.post(
    "/services/<service_id>/credentials/reveal",
    tags=TAGS,
    summary="Ver las claves del servicio (queda registrado)",
    description="El titular y los contactos con permiso para gestionar los servicios. Cada vista se registra (quién, "
                "cuándo, desde dónde) y el titular la ve en GET /services/{service_id}/credential-reveals.",
    security=SECURED,
    responses=answers(200, "Las claves"),
)
def reveal_credentials(service_id: str) -> RevealedCredentials:
    context = app.current_event.request_context
    return credentials.reveal(accounts, reveals, kms, clock, current_identity(app), service_id,
                              context.identity.source_ip, app.current_event.headers.get("User-Agent"))


@app.get(
    "/services/<service_id>/credential-reveals",
    tags=TAGS,
    summary="Quién vio las claves y cuándo",
    description="Solo el titular (y el personal). Si alguien que las vio ya no tiene acceso, sugiere cambiarlas.",
    security=SECURED,
    responses=answers(),
)
def credential_reveals(service_id: str) -> CredentialRevealsOut:
    return credentials.reveals(services, accounts, reveals, current_identity(app), service_id)


@app.post(
    "/services/<service_id>/credentials/rotation",
    tags=TAGS,
    summary="Cambiar la clave del servicio en el servidor",
    description="Solo el titular. Ponemos una clave nueva en la cuenta del servidor (cPanel) y la anterior deja de "
                "servir; la nueva se ve en las claves del servicio en unos minutos.",
    security=SECURED,
    responses=answers(202, "Cambio pedido"),
)
def rotate_credentials(service_id: str) -> tuple[RotationOut, int]:
    return credentials.request_rotation(services, clock, current_identity(app), service_id), 202


def _bucket() -> str:
    return config.env(config.DOWNLOADS_BUCKET)


@app.get("/services/<service_id>/downloads", tags=TAGS, summary="Descargas del servicio (Nube de audios y otras)",
         security=SECURED, responses=answers())
def service_downloads(service_id: str) -> list[DownloadOut]:
    return downloads.list_downloads(services, accounts, current_identity(app), service_id)


@app.get("/services/<service_id>/downloads/<download_id>", tags=TAGS, summary="Enlace para descargar un archivo",
         description="Un enlace firmado que vale cinco minutos.", security=SECURED, responses=answers())
def service_download_link(service_id: str, download_id: str) -> DownloadLink:
    return downloads.link(services, accounts, s3, _bucket(), clock, current_identity(app), service_id, download_id)


@app.post("/staff/services/<service_id>/downloads", tags=["Personal"],
          summary="Subir una descarga de un servicio (formulario firmado de S3)",
          description="Devuelve el formulario para subir el archivo directo a S3; después, publicarlo con PUT.",
          security=SECURED, responses=answers(201, "Formulario de subida"))
def staff_upload_download(service_id: str, body: DownloadUpload) -> tuple[UploadForm, int]:
    form = downloads.presign_upload(services, s3, _bucket(), clock, current_identity(app), service_id, body)
    return UploadForm(**form), 201


@app.put("/staff/services/<service_id>/downloads/<download_id>", tags=["Personal"],
         summary="Publicar (o renombrar) una descarga ya subida", security=SECURED, responses=answers())
def staff_publish_download(service_id: str, download_id: str, body: DownloadPublish) -> DownloadOut:
    return downloads.publish(services, s3, _bucket(), clock, current_identity(app), service_id, download_id,
                             body.title)


@app.delete("/staff/services/<service_id>/downloads/<download_id>", tags=["Personal"],
            summary="Quitar una descarga", security=SECURED, responses=answers(204, "Quitada"))
def staff_remove_download(service_id: str, download_id: str):
    downloads.remove(services, s3, _bucket(), current_identity(app), service_id, download_id)
    return Response(status_code=204)


@app.get(
    "/staff/clients/<client_id>/services",
    tags=["Personal"],
    summary="Servicios de un cliente",
    security=SECURED,
    responses=answers(),
)
def staff_list_services(client_id: str) -> list[ServiceSummary]:
    return logic.client_services(services, current_identity(app), client_id)


lambda_handler = lambda_handler_for(app)
