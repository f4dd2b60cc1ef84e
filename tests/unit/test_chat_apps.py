"""The chat apps' pure parts: Telegram updates read as the tickets capability files them, the Bot API's errors
classified, link codes recognised, and which files a chat app sent are kept (type, size, a safe name)."""

from datetime import UTC, datetime

import pytest
from tickets.chat_apps import Media, keep_media
from tickets.telegram_bot import _failure, classify, message_of, valid_secret
from tickets.telegram_links import link_code_of

PRIVATE = {"update_id": 10, "message": {"message_id": 3, "date": 1764510000, "text": "Hola",
                                        "from": {"id": 77, "is_bot": False, "first_name": "Ana", "last_name": "Gómez",
                                                 "username": "anag"},
                                        "chat": {"id": 77, "type": "private"}}}


def _with(**message) -> dict:
    return {"update_id": 11, "message": {**PRIVATE["message"], **message}}


def test_a_private_message_is_read_with_its_sender_and_time():
    read = message_of(PRIVATE)
    assert (read["update_id"], read["user_id"], read["chat_id"], read["name"], read["username"], read["text"]) == (
        10, "77", "77", "Ana Gómez", "anag", "Hola")
    assert read["sent_at"] == "2025-11-30T13:40:00.000000Z" and read["media"] is None


def test_the_largest_photo_and_a_document_are_the_media_with_the_caption_as_text():
    photo = message_of(_with(text=None, caption="El error", photo=[
        {"file_id": "small", "file_size": 10}, {"file_id": "large", "file_size": 9000}]))
    assert photo["text"] == "El error" and photo["media"] == {
        "kind": "photo", "file_id": "large", "file_name": None, "mime_type": "image/jpeg", "file_size": 9000}
    document = message_of(_with(text=None, document={"file_id": "doc", "file_name": "log.txt",
                                                     "mime_type": "text/plain", "file_size": True}))
    assert document["media"]["file_name"] == "log.txt" and document["media"]["file_size"] is None


@pytest.mark.parametrize("update", [
    {"update_id": "10", "message": PRIVATE["message"]},  # not Telegram's integer id
    {"update_id": 12, "edited_message": PRIVATE["message"]},
    _with(chat={"id": -100, "type": "group"}),
    _with(**{"from": {"id": 5, "is_bot": True}}),
    _with(**{"from": {"id": "77"}}),
    {"update_id": 13, "message": "hola"},
    [],
])
def test_anything_but_a_persons_private_message_is_ignored(update):
    assert message_of(update) is None


@pytest.mark.parametrize("status, code, kind, retryable", [
    (429, 429, "throttled", True), (502, None, "transient", True), (401, 401, "not_configured", True),
    (403, 403, "blocked", False), (400, 400, "permanent", False)])
def test_bot_api_errors_are_classified_from_telegrams_answer(status, code, kind, retryable):
    body = b'{"ok": false, "error_code": %d, "description": "x", "parameters": {"retry_after": 7}}' % (code or status)
    failure = _failure(status, body if code else b"<html>Bad Gateway</html>")
    assert (failure.kind, failure.retryable) == (kind, retryable)
    assert failure.retry_after == (7 if code else None)
    assert classify(None, "") == "transient"


def test_the_secret_token_must_match_and_an_empty_configured_secret_accepts_nothing():
    assert valid_secret("s3cr3t", "s3cr3t")
    assert not valid_secret("s3cr3t ", "s3cr3t") and not valid_secret(None, "s3cr3t")
    assert not valid_secret("", "") and not valid_secret("ñ", "s3cr3t")


@pytest.mark.parametrize("text, code", [
    ("/start ABCD2345", "ABCD2345"), ("/start@SoporteBot abcd2345", "ABCD2345"), ("  abcd2345 ", "ABCD2345"),
    ("/start", None), ("/start ABCD2345 extra", None), ("ABCD234", None), ("ABCD234O", None),  # O is no code letter
    ("Hola, buen día", None), ("GRACIAS!", None)])
def test_link_codes_are_recognised_in_start_commands_or_alone(text, code):
    assert link_code_of(text) == code


class S3:
    def __init__(self):
        self.put = []

    def put_object(self, **kwargs):
        self.put.append(kwargs)


AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_file_is_kept_under_its_ticket_with_a_safe_name_and_its_types_extension():
    s3 = S3()
    kept = keep_media(s3, "bucket", "01TICKET", Media(b"%PDF-1.7 factura", "application/pdf; charset=binary",
                                                       "../../Factura Marzo ñ.exe"), AT)
    assert kept.filename == "Factura_Marzo_n.pdf" and kept.content_type == "application/pdf"
    assert kept.key == f"tickets/01TICKET/{kept.attachment_id}/Factura_Marzo_n.pdf" and kept.size == 16
    assert s3.put == [{"Bucket": "bucket", "Key": kept.key, "Body": b"%PDF-1.7 factura",
                       "ContentType": "application/pdf"}]
    assert keep_media(s3, "bucket", "01TICKET", Media(b"\xff\xd8", "image/jpeg", "%%%.jpg"), AT).filename == \
        "archivo.jpg"


@pytest.mark.parametrize("media", [Media(b"OggS", "audio/ogg", None), Media(b"", "image/png", None),
                                   Media(b"x" * (10 * 1024 * 1024 + 1), "image/png", None)])
def test_a_file_the_panel_would_refuse_is_not_kept(media):
    s3 = S3()
    assert keep_media(s3, "bucket", "01TICKET", media, AT) is None and s3.put == []

