"""A service's downloads (help centre, "Como descargo archivos de mi servicio": "Los audios y locuciones ahora son
parte de la Nube de Audios … Cada Servicio de Paneldecliente le da acceso a diferentes descargas"; docs/downloads.md).

- Staff upload straight to S3 with a presigned POST (the exact key, the declared type, at most the declared size:
  S3's own checks), under ``services/<service>/<download>/<name>``, then publish it: only what S3 holds, within the
  limits, becomes a ServiceDownload.
- Clients (the holder, contacts with ``services`` within their scope) list a service's downloads and get a presigned
  GET of five minutes for one; another account's service or file answers like a missing one. The bucket is never
  listed for them: the list is the table's.
"""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from services.schemas import DownloadLink, DownloadOut, DownloadUpload

from shared.auth import Identity, require_staff
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts
from shared.dal.services import Service, ServiceDownload, Services
from shared.dal.table import find_item, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.ids import id_at, is_valid_id
from shared.service_readers import readable_service
from shared.text import plain_filename

MAX_BYTES = 200 * 1024 * 1024  # a long locución in WAV is tens of MB
UPLOAD_LIFETIME = timedelta(minutes=30)
DOWNLOAD_LIFETIME = timedelta(minutes=5)
ALLOWED_TYPES = {
    "audio/mpeg": (".mp3",), "audio/wav": (".wav",), "audio/x-wav": (".wav",), "audio/ogg": (".ogg", ".oga"),
    "audio/mp4": (".m4a",), "audio/aac": (".aac",), "application/pdf": (".pdf",), "application/zip": (".zip",),
    "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"), "text/plain": (".txt",),
}
logger = Logger(child=True)


class NotUploaded(Conflict):
    code = "download_not_uploaded"
    message = "El archivo todavía no está en el almacenamiento (o supera el máximo): súbalo de nuevo."


def safe_filename(name: str, content_type: str) -> str:
    """ASCII letters, digits, dot, dash and underscore, one extension that matches the type (no path, no tag)."""
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput("Ese tipo de archivo no se acepta: audio (MP3, WAV, OGG, M4A, AAC), PDF, ZIP, imágenes o "
                           "texto.", code="download_type_not_allowed", field="content_type")
    stem, dot, extension = plain_filename(name).rpartition(".")
    stem = stem[:100]  # a long name loses the end of its stem, never its extension
    if not dot or f".{extension.lower()}" not in ALLOWED_TYPES[content_type] or not stem.strip("._-"):
        raise InvalidInput("El nombre del archivo no es válido o su extensión no coincide con su tipo.",
                           code="invalid_filename", field="filename")
    return f"{stem}.{extension.lower()}"


def _prefix(service_id: str, download_id: str) -> str:
    return f"services/{service_id}/{download_id}/"


def _out(download: ServiceDownload) -> DownloadOut:
    return DownloadOut(download_id=download.download_id, title=download.title, filename=download.filename,
                       content_type=download.content_type, size=download.size,
                       published_at=from_storage(download.published_at))


def _staff_service(services: Services, identity: Identity, service_id: str) -> Service:
    require_staff(identity)
    return services.get_service(service_id)


def presign_upload(services: Services, s3: Any, bucket: str, clock: Clock, identity: Identity, service_id: str,
                   body: DownloadUpload) -> dict[str, Any]:
    service = _staff_service(services, identity, service_id)
    if body.size > MAX_BYTES:
        raise InvalidInput(f"El archivo supera el máximo de {MAX_BYTES // (1024 * 1024)} MB.",
                           code="download_too_large", field="size")
    name = safe_filename(body.filename, body.content_type)
    now = clock.now()
    download_id = id_at(now)
    key = _prefix(service.service_id, download_id) + name
    post = s3.generate_presigned_post(bucket, key, Fields={"Content-Type": body.content_type},
                                      Conditions=[{"Content-Type": body.content_type},
                                                  ["content-length-range", 1, body.size]],
                                      ExpiresIn=int(UPLOAD_LIFETIME.total_seconds()))
    return {"download_id": download_id, "url": post["url"], "fields": post["fields"],
            "expires_at": now + UPLOAD_LIFETIME, "max_bytes": body.size}


def publish(services: Services, s3: Any, bucket: str, clock: Clock, identity: Identity, service_id: str,
            download_id: str, title: str) -> DownloadOut:
    """What S3 holds under the upload's prefix becomes the service's download (again: its title changes)."""
    service = _staff_service(services, identity, service_id)
    if not is_valid_id(download_id):
        raise not_found()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=_prefix(service.service_id, download_id), MaxKeys=2)
    objects = listed.get("Contents") or []
    if len(objects) != 1 or not 0 < objects[0]["Size"] <= MAX_BYTES:
        raise NotUploaded()
    key = objects[0]["Key"]
    name = key.rsplit("/", 1)[-1]
    extension = f".{name.rpartition('.')[2]}"
    content_type = next((t for t, extensions in ALLOWED_TYPES.items() if extension in extensions), None)
    if content_type is None:  # the form binds the key, so only a hand-made object could get here
        raise NotUploaded()
    download = ServiceDownload(*ServiceDownload.key(service.service_id, download_id), download_id=download_id,
                               service_id=service.service_id, title=title, filename=name, content_type=content_type,
                               size=int(objects[0]["Size"]), object_key=key, published_by=identity.subject,
                               published_at=to_storage(clock.now()))
    with UnitOfWork() as uow:
        uow.save(download)
    return _out(download)


def remove(services: Services, s3: Any, bucket: str, identity: Identity, service_id: str, download_id: str) -> None:
    service = _staff_service(services, identity, service_id)
    download = find_item(ServiceDownload, ServiceDownload.key(service.service_id, download_id)) \
        if is_valid_id(download_id) else None
    if download is None:
        raise not_found()
    with UnitOfWork() as uow:
        uow.delete(download)
    try:  # after: a failure leaves a file no one can reach (the bucket is never listed to clients)
        s3.delete_object(Bucket=bucket, Key=download.object_key)
    except Exception as error:  # the removal is done; the object waits for staff (logged with its key)
        logger.warning("download removed, its object not deleted",
                       extra={"key": download.object_key, "error": type(error).__name__})


def list_downloads(services: Services, accounts: Accounts, identity: Identity, service_id: str) -> list[DownloadOut]:
    service = readable_service(services, accounts, identity, service_id)
    return [_out(d) for d in services.downloads(service.service_id)]


def link(services: Services, accounts: Accounts, s3: Any, bucket: str, clock: Clock, identity: Identity,
         service_id: str, download_id: str) -> DownloadLink:
    service = readable_service(services, accounts, identity, service_id)
    download = find_item(ServiceDownload, ServiceDownload.key(service.service_id, download_id)) \
        if is_valid_id(download_id) else None
    if download is None:
        raise not_found()
    now = clock.now()
    url = s3.generate_presigned_url("get_object", ExpiresIn=int(DOWNLOAD_LIFETIME.total_seconds()), Params={
        "Bucket": bucket, "Key": download.object_key, "ResponseContentType": download.content_type,
        "ResponseContentDisposition": f'attachment; filename="{download.filename}"'})
    return DownloadLink(url=url, expires_at=now + DOWNLOAD_LIFETIME, filename=download.filename,
                        size=download.size)
