"""Spanish search over the knowledge base, from a prebuilt index held in memory (docs/knowledge-base.md).

- Words are compared accent- and case-free ("Cancelación" = "cancelacion") and stemmed with the Snowball Spanish
  stemmer ("cancelar", "cancelación" and "cancelaciones" are one term); common Spanish words ("de", "por", "un"…)
  are left out.
- Ranking is BM25 over two fields, the title weighing ``TITLE_WEIGHT`` times the body (BM25F's simple form): an
  article about the words asked for beats one that mentions them in passing.
- A word of five letters or more that the index does not know is read as the known words one edit away (a letter
  missing, extra, changed, or two swapped: "cancelasion", "whatsap", "tranferir"), a little below an exact match.
- Snippets: the passage of the article with the most words asked for, those words marked with <mark>.

Pure Python, no numpy: the API function's cold start pays for snowballstemmer alone. ``build`` makes the index (a
JSON-able dict) from the articles; ``Index`` answers from it.
"""

import html
import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

INDEX_FORMAT = 1
TITLE_WEIGHT = 3
K1, B = 1.2, 0.75
TYPO_MIN_LETTERS = 5
TYPO_DISCOUNT = 0.8  # a word read through a typo counts a little less than one written right
TYPO_GUESSES = 5  # unknown words read as typos per query
SNIPPET_CHARS = 220

# Words too common to tell articles apart (Snowball's Spanish stop list, the frequent part of it).
_STOPWORDS_TEXT = """
a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada como con contra cual cuales
cuando de del desde donde dos e el ella ellas ello ellos en entre era eran es esa esas ese eso esos esta estan
estar estas este esto estos fue fueron ha hace hacer han hasta hay la las le les lo los mas me mi mis mucho muy
nada ni no nos nosotros o os otra otras otro otros para pero poco por porque puede pueden que quien se sea ser si
sin sobre solo son su sus tambien te tiene tienen todo todos tu tus un una unas uno unos usted ustedes y ya yo
mio mia puedo quiero debo tengo estoy
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


_per_thread = threading.local()


def _stemmer() -> Any:
    """A Snowball stemmer keeps the word it works on: one per thread (Lambda runs one request at a time, but the
    local stack and the indexer's tests run several threads in one process)."""
    stemmer = getattr(_per_thread, "stemmer", None)
    if stemmer is None:
        import snowballstemmer  # loaded on the first search, not at import

        stemmer = _per_thread.stemmer = snowballstemmer.stemmer("spanish")
    return stemmer


def fold(text: str) -> str:
    """Lower case, without accents (ñ reads as n, as people type it without the key)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """The stems of the words of ``text`` that can tell articles apart."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def build(articles: list[dict[str, str]]) -> dict[str, Any]:
    """The index of these articles (each a dict with slug, title, category, body): JSON-able."""
    docs, postings, surface = [], {}, {}
    lengths = []
    for number, article in enumerate(articles):
        title_terms, body_terms = terms(article["title"]), terms(article["body"])
        for text in (article["title"], article["body"]):
            for word in words(text):
                if word not in STOPWORDS and len(word) >= TYPO_MIN_LETTERS - 1:
                    surface.setdefault(word, stem(word))
        title_counts, body_counts = Counter(title_terms), Counter(body_terms)
        for term in set(title_counts) | set(body_counts):
            postings.setdefault(term, []).append([number, title_counts[term], body_counts[term]])
        lengths.append(TITLE_WEIGHT * len(title_terms) + len(body_terms))
        docs.append({"slug": article["slug"], "title": article["title"], "category": article.get("category", ""),
                     "body": article["body"]})
    return {"format": INDEX_FORMAT, "docs": docs, "lengths": lengths,
            "avgdl": (sum(lengths) / len(lengths)) if lengths else 0.0, "postings": postings, "surface": surface}


def one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter missing, extra or changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                   and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    category: str
    score: float
    snippet: str  # HTML-escaped, the words found marked with <mark>


class Index:
    def __init__(self, data: dict[str, Any]):
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            raise ValueError(f"not an index of format {INDEX_FORMAT}")
        self.docs, self.lengths, self.avgdl = data["docs"], data["lengths"], data["avgdl"] or 1.0
        self.postings, self.surface = data["postings"], data["surface"]
        self._by_length: dict[int, list[str]] = {}
        for word in self.surface:
            self._by_length.setdefault(len(word), []).append(word)

    def _query_terms(self, query: str) -> dict[str, float]:
        """Each term of the query with its weight: 1 as written, TYPO_DISCOUNT for the known words one edit away
        from an unknown word of five letters or more."""
        wanted: dict[str, float] = {}
        guessed = 0
        for word in dict.fromkeys(words(query)):  # each word once
            if word in STOPWORDS or len(word) < 2:
                continue
            term = stem(word)
            if term in self.postings:
                wanted[term] = max(wanted.get(term, 0.0), 1.0)
            elif len(word) >= TYPO_MIN_LETTERS and guessed < TYPO_GUESSES:
                guessed += 1  # each guess walks the vocabulary: a query of made-up words costs a few walks at most
                near = {self.surface[w] for n in (len(word) - 1, len(word), len(word) + 1)
                        for w in self._by_length.get(n, ()) if one_edit_apart(word, w)}
                for term in near:
                    wanted[term] = max(wanted.get(term, 0.0), TYPO_DISCOUNT)
        return wanted

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        wanted = self._query_terms(query)
        if not wanted:
            return []
        count = len(self.docs)
        scores: dict[int, float] = {}
        for term, weight in wanted.items():
            found = self.postings[term]
            idf = math.log(1 + (count - len(found) + 0.5) / (len(found) + 0.5))
            for number, in_title, in_body in found:
                tf = TITLE_WEIGHT * in_title + in_body
                norm = K1 * (1 - B + B * self.lengths[number] / self.avgdl)
                scores[number] = scores.get(number, 0.0) + weight * idf * tf * (K1 + 1) / (tf + norm)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.docs[item[0]]["slug"]))[:limit]
        return [Hit(slug=self.docs[n]["slug"], title=self.docs[n]["title"], category=self.docs[n]["category"],
                    score=round(score, 4), snippet=snippet(self.docs[n]["body"], set(wanted)))
                for n, score in ranked]


def snippet(body: str, wanted: set[str]) -> str:
    """The passage (a paragraph or sentence, up to SNIPPET_CHARS) with the most words asked for, marked."""
    passages = [p.strip() for p in re.split(r"\n+|(?<=[.!?])\s+", body) if p.strip()]
    if not passages:
        return ""

    def found_in(passage: str) -> int:
        return len({stem(w) for w in words(passage)} & wanted)

    _, _, best = max((found_in(p), -number, p) for number, p in enumerate(passages))  # the first of the best
    text = best if len(best) <= SNIPPET_CHARS else best[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    marked = []
    for piece in re.split(r"(\w+)", text):
        folded = fold(piece)
        if piece and re.fullmatch(r"\w+", piece) and folded not in STOPWORDS and stem(folded) in wanted:
            marked.append(f"<mark>{html.escape(piece)}</mark>")
        else:
            marked.append(html.escape(piece))
    return "".join(marked)
