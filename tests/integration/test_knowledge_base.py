"""The knowledge base through the real handlers: staff write an article as a draft (not searchable), publish it
(kb.article_changed → outbox → the indexer rebuilds the index in S3 → the public search finds it at once), edit and
unpublish it; the public routes need no sign-in; bad input changes nothing."""


import pytest

from shared.dal.kb import KbArticle
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import kb_index, relay

STAFF = claims_for(staff=True, sub="staff-kb")
ARTICLE = {"slug": "configurar-outlook", "title": "Configurar el correo en Outlook", "category": "Correo",
           "body": "Para configurar Outlook use el servidor entrante IMAP 993 y el saliente SMTP 465.\n\n"
                   "El usuario es la dirección completa."}


def _search(api, q):
    answer = api.call("GET", f"/kb/search?q={q}")
    assert answer.status == 200, answer
    return [hit["slug"] for hit in answer.json()["results"]]


def test_a_draft_is_not_found_a_published_article_is_and_an_unpublished_one_is_gone(api, stack, aws):
    made = api.call("POST", "/staff/kb/articles", claims=STAFF, body=ARTICLE)
    assert (made.status, made.json()["status"]) == (201, "draft")
    relay(stack, aws)
    kb_index(stack)
    assert _search(api, "outlook") == []  # a draft: no event, nothing indexed

    published = api.call("POST", "/staff/kb/articles/configurar-outlook/publish", claims=STAFF, body={})
    assert published.json()["status"] == "published" and published.json()["published_at"]
    relay(stack, aws)
    records, result = kb_index(stack)
    assert len(records) == 1 and result == {"batchItemFailures": []}
    assert _search(api, "outlook") == ["configurar-outlook"]
    hit = api.call("GET", "/kb/search?q=configurar%20Outlook").json()["results"][0]
    assert "<mark>Outlook</mark>" in hit["snippet"] and hit["title"] == "Configurar el correo en Outlook"
    assert api.call("GET", "/kb/suggest?subject=no%20me%20anda%20el%20outlook").json()["results"][0]["slug"] == (
        "configurar-outlook")
    assert [a["slug"] for a in api.call("GET", "/kb/articles").json()] == ["configurar-outlook"]
    assert api.call("GET", "/kb/articles/configurar-outlook").json()["body"].startswith("Para configurar Outlook")

    edited = api.call("PUT", "/staff/kb/articles/configurar-outlook", claims=STAFF,
                      body={**{k: v for k, v in ARTICLE.items() if k != "slug"}, "body": "Thunderbird también."})
    assert edited.status == 200, edited
    relay(stack, aws)
    kb_index(stack)
    assert _search(api, "thunderbird") == ["configurar-outlook"] and _search(api, "imap") == []

    api.call("POST", "/staff/kb/articles/configurar-outlook/unpublish", claims=STAFF, body={})
    relay(stack, aws)
    kb_index(stack)
    assert _search(api, "outlook") == []
    assert api.call("GET", "/kb/articles/configurar-outlook").status == 404
    assert [a["status"] for a in api.call("GET", "/staff/kb/articles", claims=STAFF).json()] == ["draft"]


def test_an_index_s3_cannot_give_or_this_code_cannot_read_is_never_a_500(api, stack, aws):
    """A search keeps answering from the index it has (or an empty one) when S3 holds a document it cannot read."""
    import boto3

    api.call("POST", "/staff/kb/articles", claims=STAFF, body=ARTICLE)
    api.call("POST", "/staff/kb/articles/configurar-outlook/publish", claims=STAFF, body={})
    relay(stack, aws)
    kb_index(stack)
    assert _search(api, "outlook") == ["configurar-outlook"]
    s3 = boto3.client("s3", region_name="us-east-1")
    for broken in (b"{not json", b'{"format": 99}', b"[]"):  # truncated, a newer deploy's format, another shape
        s3.put_object(Bucket=stack.refs["DocumentsBucket"], Key="kb/index.json", Body=broken)
        assert _search(api, "outlook") == ["configurar-outlook"]  # the one in memory
    long_slug = api.call("POST", f"/staff/kb/articles/{'a' * 3000}/publish", claims=STAFF, body={})
    assert (long_slug.status, long_slug.json()["code"]) == (404, "not_found")  # never a 2 KB key sent to DynamoDB


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/staff/kb/articles", {**ARTICLE, "slug": "Con Espacios"}, 422, "validation_error"),
    ("POST", "/staff/kb/articles", {**ARTICLE, "title": "x"}, 422, "validation_error"),
    ("POST", "/staff/kb/articles", {**ARTICLE, "extra": 1}, 422, "validation_error"),
    ("PUT", "/staff/kb/articles/no-existe", {k: v for k, v in ARTICLE.items() if k != "slug"}, 404, "not_found"),
    ("POST", "/staff/kb/articles/no-existe/publish", {}, 404, "not_found"),
])
def test_bad_article_requests_are_refused_and_change_nothing(api, stack, method, path, body, status, code):
    answer = api.call(method, path, claims=STAFF, body=body)
    assert (answer.status, answer.json()["code"]) == (status, code), answer
    assert [i for i in TableItem.scan() if isinstance(i, KbArticle)] == []


def test_a_slug_is_taken_once_and_a_search_needs_words(api, stack):
    assert api.call("POST", "/staff/kb/articles", claims=STAFF, body=ARTICLE).status == 201
    again = api.call("POST", "/staff/kb/articles", claims=STAFF, body={**ARTICLE, "title": "Otro título"})
    assert (again.status, again.json()["code"]) == (409, "slug_taken")
    for path in ("/kb/search", "/kb/search?q=%20%20", "/kb/suggest"):
        refused = api.call("GET", path)
        assert (refused.status, refused.json()["code"]) == (422, "query_required"), path
    assert api.call("GET", "/kb/search?q=outlook").json()["results"] == []  # no index yet: nothing, not an error
