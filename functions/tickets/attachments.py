"""Ticket attachments go straight to S3 with a presigned POST (never through the Lambda body), under
``tickets/<ticket>/<attachment>/<name>``; a reply names the ones it carries, and only those that S3 holds,
within the limits, become part of the conversation. Downloads are presigned GETs of a few minutes.

The POST policy is S3's own check: the exact key, the declared content type and a size range (S3 refuses a
larger file), so a signed form cannot be reused for another object."""

from datetime import datetime, timedelta
from typing import Any

from shared.dal.tickets import Attachment
from shared.errors import InvalidInput
from shared.ids import id_at, is_valid_id
from shared.text import plain_filename

MAX_BYTES = 10 * 1024 * 1024
UPLOAD_LIFETIME = timedelta(minutes=15)
DOWNLOAD_LIFETIME = timedelta(minutes=5)
ALLOWED_TYPES = {
    "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"), "image/gif": (".gif",), "image/webp": (".webp",),
    "application/pdf": (".pdf",), "text/plain": (".txt", ".log"), "text/csv": (".csv",),
    "application/zip": (".zip",), "application/json": (".json",),
}


def safe_filename(name: str, content_type: str) -> str:
    """The name an attachment is stored and offered under: ASCII letters, digits, dot, dash and underscore (a
    path, a control character or an HTML tag cannot survive), one extension that matches its type."""
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput("Ese tipo de archivo no se acepta. Adjunte imágenes, PDF, texto, CSV, JSON o ZIP.",
                           code="attachment_type_not_allowed", field="content_type")
    base = plain_filename(name)[:100]
    stem, dot, extension = base.rpartition(".")
    if not dot or f".{extension.lower()}" not in ALLOWED_TYPES[content_type]:
        raise InvalidInput("La extensión del archivo no coincide con su tipo.", code="attachment_extension_mismatch",
                           field="filename")
    if not stem.strip("._-"):
        raise InvalidInput("El nombre del archivo no es válido.", code="invalid_filename", field="filename")
    return f"{stem}.{extension.lower()}"


def object_prefix(ticket_id: str, attachment_id: str) -> str:
    return f"tickets/{ticket_id}/{attachment_id}/"


def presign_upload(s3: Any, bucket: str, ticket_id: str, filename: str, content_type: str, size: int,
                   now: datetime) -> dict[str, Any]:
    if size > MAX_BYTES:
        raise InvalidInput(f"El archivo supera el máximo de {MAX_BYTES // (1024 * 1024)} MB.",
                           code="attachment_too_large", field="size")
    name = safe_filename(filename, content_type)
    attachment_id = id_at(now)
    key = object_prefix(ticket_id, attachment_id) + name
    post = s3.generate_presigned_post(
        bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
        ExpiresIn=int(UPLOAD_LIFETIME.total_seconds()))
    return {"attachment_id": attachment_id, "url": post["url"], "fields": post["fields"],
            "expires_at": now + UPLOAD_LIFETIME, "max_bytes": size}


def collect(s3: Any, bucket: str, ticket_id: str, attachment_ids: list[str]) -> list[Attachment]:
    """The uploaded objects a reply names (one listing each; S3 requests, not DynamoDB). One that is missing
    or out of the limits refuses the reply: the client uploads it again."""
    found = []
    for attachment_id in dict.fromkeys(attachment_ids):
        if not is_valid_id(attachment_id):
            raise InvalidInput("Un adjunto indicado no existe.", code="attachment_not_found", field="attachment_ids")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=object_prefix(ticket_id, attachment_id), MaxKeys=2)
        objects = listed.get("Contents") or []
        if len(objects) != 1 or not 0 < objects[0]["Size"] <= MAX_BYTES:
            raise InvalidInput("Un adjunto indicado no existe o todavía no terminó de subirse.",
                               code="attachment_not_found", field="attachment_ids")
        key = objects[0]["Key"]
        name = key.rsplit("/", 1)[-1]
        extension = f".{name.rpartition('.')[2]}"
        content_type = next((t for t, ext in ALLOWED_TYPES.items() if extension in ext), "application/octet-stream")
        found.append(Attachment(attachment_id=attachment_id, filename=name, content_type=content_type,
                                size=int(objects[0]["Size"]), key=key))
    return found


def presign_download(s3: Any, bucket: str, attachment: Attachment, now: datetime) -> dict[str, Any]:
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": attachment.key,
                "ResponseContentDisposition": f'attachment; filename="{attachment.filename}"',
                "ResponseContentType": attachment.content_type},
        ExpiresIn=int(DOWNLOAD_LIFETIME.total_seconds()))
    return {"url": url, "expires_at": now + DOWNLOAD_LIFETIME}
