"""A service's downloads (the audio cloud) through the real handlers and S3's own protocol: staff get a presigned
POST form and the file goes straight to S3 (larger than declared: S3 refuses it), staff publish what S3 holds, and
the holder and contacts with `services` get a five-minute presigned GET; another account's service or file is a
404 like a missing one."""

import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from shared.dal.services import ServiceDownload
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for

STAFF = claims_for(staff=True, sub="staff-files")
AUDIO = b"ID3" + bytes(range(61))


def _post_form(url: str, fields: dict[str, str], content: bytes, content_type: str) -> int:
    """What a browser sends with S3's presigned POST: the fields, then the file."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the embedded S3)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def setup(api, catalog):
    def client(email):
        made = api.call("POST", "/clients", body={"email": email, "password": "Segura123", "name": "Cliente"})
        return made.json()["client_id"]

    client_id, other_id = client("radio@ejemplo.com.ar"), client("otra@ejemplo.com.ar")
    holder = claims_for(client_id=client_id, sub="sub-radio")

    def service(owner):
        order = api.call("POST", f"/staff/clients/{owner}/orders", claims=STAFF,
                         body={"product_id": "hosting-inicial", "billing_cycle": "annually", "domain": "radio.com.ar"})
        return order.json()["service"]["service_id"]

    return {"client_id": client_id, "holder": holder, "service_id": service(client_id),
            "other_service_id": service(other_id), "other": claims_for(client_id=other_id, sub="sub-otra")}


def _uploaded(api, service_id, size=len(AUDIO), content=AUDIO):
    form = api.call("POST", f"/staff/services/{service_id}/downloads", claims=STAFF,
                    body={"filename": "Locución Bienvenida.mp3", "content_type": "audio/mpeg", "size": size})
    assert form.status == 201, form
    return form.json(), _post_form(form.json()["url"], form.json()["fields"], content, "audio/mpeg")


def test_staff_upload_and_publish_and_the_holder_downloads_through_a_short_lived_link(api, setup):
    service_id = setup["service_id"]
    form, status = _uploaded(api, service_id)
    assert status in (200, 201, 204)
    assert form["fields"]["key"].endswith("/Locucion_Bienvenida.mp3")  # no spaces, accents or path survive
    published = api.call("PUT", f"/staff/services/{service_id}/downloads/{form['download_id']}", claims=STAFF,
                         body={"title": "Locución de bienvenida"})
    assert published.status == 200 and published.json()["size"] == len(AUDIO), published

    listed = api.call("GET", f"/services/{service_id}/downloads", claims=setup["holder"]).json()
    assert [(d["title"], d["content_type"]) for d in listed] == [("Locución de bienvenida", "audio/mpeg")]
    link = api.call("GET", f"/services/{service_id}/downloads/{form['download_id']}", claims=setup["holder"]).json()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link["url"]).query)
    assert (query["X-Amz-Algorithm"], query["X-Amz-Expires"]) == (["AWS4-HMAC-SHA256"], ["300"])  # SigV4, 5 min
    with urllib.request.urlopen(link["url"], timeout=10) as response:  # noqa: S310 (the embedded S3)
        assert response.read() == AUDIO
        assert 'filename="Locucion_Bienvenida.mp3"' in response.headers["Content-Disposition"]


def test_another_accounts_service_or_file_is_a_404_like_a_missing_one(api, setup):
    service_id, other = setup["service_id"], setup["other"]
    form, _ = _uploaded(api, service_id)
    api.call("PUT", f"/staff/services/{service_id}/downloads/{form['download_id']}", claims=STAFF,
             body={"title": "Locución"})
    theirs = api.call("GET", f"/services/{service_id}/downloads/{form['download_id']}", claims=other)
    missing = api.call("GET", f"/services/{service_id}/downloads/01KBV3ZQ7N6C8R3Y1XQ6K2M9T4", claims=other)
    assert (theirs.status, theirs.text) == (404, missing.text)
    # Its own service, the holder's file id: not found either (a file is reached only through its service).
    crossed = api.call("GET", f"/services/{setup['other_service_id']}/downloads/{form['download_id']}", claims=other)
    assert crossed.status == 404
    assert api.call("GET", f"/services/{setup['other_service_id']}/downloads", claims=other).json() == []


def test_a_file_not_uploaded_is_never_published_and_the_form_binds_its_key_type_and_size(api, setup):
    import base64
    import json

    service_id = setup["service_id"]
    form = api.call("POST", f"/staff/services/{service_id}/downloads", claims=STAFF,
                    body={"filename": "spot.mp3", "content_type": "audio/mpeg", "size": 10}).json()
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    # S3 checks these itself (the embedded S3 does not enforce the size; AWS does): the exact key, the type, the size.
    assert {"key": form["fields"]["key"]} in policy["conditions"]
    assert {"Content-Type": "audio/mpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 10] in policy["conditions"]
    refused = api.call("PUT", f"/staff/services/{service_id}/downloads/{form['download_id']}", claims=STAFF,
                       body={"title": "Nunca subido"})
    assert (refused.status, refused.json()["code"]) == (409, "download_not_uploaded")
    for body, code in (({"filename": "virus.exe", "content_type": "application/x-msdownload", "size": 10},
                        "download_type_not_allowed"),
                       ({"filename": "audio.pdf", "content_type": "audio/mpeg", "size": 10}, "invalid_filename"),
                       ({"filename": "a.mp3", "content_type": "audio/mpeg", "size": 10**9}, "download_too_large")):
        answer = api.call("POST", f"/staff/services/{service_id}/downloads", claims=STAFF, body=body)
        assert (answer.status, answer.json()["code"]) == (422, code), answer
    assert [i for i in TableItem.scan() if isinstance(i, ServiceDownload)] == []


def test_a_removed_file_is_gone_from_the_list_and_from_s3(api, stack, setup):
    import boto3

    service_id = setup["service_id"]
    form, _ = _uploaded(api, service_id)
    api.call("PUT", f"/staff/services/{service_id}/downloads/{form['download_id']}", claims=STAFF,
             body={"title": "Locución"})
    assert api.call("DELETE", f"/staff/services/{service_id}/downloads/{form['download_id']}",
                    claims=STAFF).status == 204
    assert api.call("GET", f"/services/{service_id}/downloads", claims=setup["holder"]).json() == []
    left = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=stack.refs["DownloadsBucket"])
    assert left.get("KeyCount", 0) == 0
