"""The knowledge base's Spanish search over the help centre's own articles (functions/kb/search_index.py): questions
as clients write them find the article that answers them, whatever their accents, case or one typo."""

import json

import pytest
from kb.search_index import Index, build, one_edit_apart

from devstack.help_centre import ARTICLES, articles

INDEX = Index(json.loads(json.dumps(build(articles()))))  # as the search function reads it back from S3

# Written from the help centre: each question and the article that answers it (in the top 3).
QUESTIONS = [
    ("¿Cuánto pago por un upgrade?", "upgrade-de-servicio"),
    ("quiero pasar a un plan superior", "upgrade-de-servicio"),
    ("baja", "baja-del-servicio"),
    ("cancelar", "baja-del-servicio"),
    ("dar de baja", "baja-del-servicio"),
    ("cancelación inmediata o al fin del período", "baja-del-servicio"),
    ("whatsapp", "alertas-por-whatsapp"),
    ("¿Cuándo me mandan alertas?", "alertas-por-whatsapp"),
    ("agregar un contacto secundario", "contactos-secundarios"),
    ("cambiar el titular de un servicio", "cambio-de-titular"),
    ("transferir el servicio a otro cliente", "cambio-de-titular"),
    ("migrar mi hosting desde otro proveedor", "migracion-de-hosting"),
    ("¿Se pasan los correos del webmail?", "migracion-de-hosting"),
    ("SLA mantenimiento preventivo", "sla"),
    ("soporte remoto rustdesk", "soporte-remoto"),
    ("número de puesto de trabajo", "soporte-remoto"),
    ("¿Qué incluye el soporte profesional?", "planes-de-soporte"),
    ("atención por chat con un asesor", "niveles-de-soporte"),
    ("dónde veo el manual y las claves", "acceso-al-servicio"),
    ("¿cuánto tarda en activarse el servicio?", "activacion-de-servicios"),
    ("demora en responder los tickets", "demoras-en-los-tickets"),
    ("descargar audios y locuciones", "descargas"),
    ("pedir una nueva funcionalidad", "nueva-funcionalidad"),
]


def test_every_help_centre_article_is_found_with_its_title_and_body():
    found = {a["slug"]: a for a in articles()}
    assert list(found) == [slug for _, slug, _ in ARTICLES]
    assert all(found[slug]["body"] for slug in found if slug != "nueva-funcionalidad")  # that one is an image


@pytest.mark.parametrize(("question", "slug"), QUESTIONS)
def test_a_question_finds_the_article_that_answers_it(question, slug):
    top = [hit.slug for hit in INDEX.search(question, 3)]
    assert slug in top, top


def test_the_upgrade_question_and_the_cancellation_words_rank_their_article_first():
    assert INDEX.search("¿Cuánto pago por un upgrade?", 1)[0].slug == "upgrade-de-servicio"
    for words in ("baja", "cancelar", "dar de baja"):
        assert INDEX.search(words, 1)[0].slug == "baja-del-servicio", words
    assert INDEX.search("whatsapp", 1)[0].slug == "alertas-por-whatsapp"


def test_accents_and_case_do_not_matter():
    ranked = [[h.slug for h in INDEX.search(q, 5)] for q in ("Cancelación", "cancelacion", "CANCELACIÓN")]
    assert ranked[0] == ranked[1] == ranked[2] and ranked[0][0] == "baja-del-servicio"


@pytest.mark.parametrize(("typed", "slug"), [("cancelasion", "baja-del-servicio"), ("whatsap", "alertas-por-whatsapp"),
                                             ("cambiar el titualr", "cambio-de-titular"),
                                             ("migarcion", "migracion-de-hosting")])
def test_one_typo_in_a_word_of_five_letters_or_more_is_forgiven(typed, slug):
    assert INDEX.search(typed, 1)[0].slug == slug


def test_a_short_word_is_not_guessed_and_only_common_words_find_nothing():
    assert INDEX.search("bsja") == []  # four letters: a typo there is too ambiguous to guess
    assert INDEX.search("de la por un") == []
    assert INDEX.search("zzzzzzzz") == []


def test_snippets_mark_the_words_found_and_escape_the_text():
    (hit,) = INDEX.search("cancelación", 1)
    assert "<mark>" in hit.snippet and "cancel" in hit.snippet.lower()
    tricky = Index(build([{"slug": "x", "title": "Correo", "category": "c",
                           "body": "Use <script>alert(1)</script> para el correo & más."}]))
    (found,) = tricky.search("correo")
    assert "<script>" not in found.snippet and "&lt;script&gt;" in found.snippet
    assert "<mark>correo</mark>" in found.snippet


@pytest.mark.parametrize(("a", "b", "near"), [("cancelar", "canselar", True), ("cancelar", "cancelr", True),
                                              ("cancelar", "cancelarr", True), ("cancelar", "cnacelar", True),
                                              ("cancelar", "cancelar", False), ("cancelar", "canselr", False),
                                              ("baja", "bajas", True), ("abc", "cba", False)])
def test_one_edit_apart(a, b, near):
    assert one_edit_apart(a, b) is near and one_edit_apart(b, a) is near
