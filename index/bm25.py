"""The keyword side of hybrid search: a bm25s index of every chunk, saved beside the Chroma index.

It is rebuilt from the store after each `bot index` run that changed anything, and carries a digest of the chunk
ids it was built from, so a reader can tell when it is stale (e.g. after an interrupted run) and rebuild it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves s t don shall may might must
""".split())

# ("1+14", a figure of several: one term. "529%" is one too, and so is "529 percent", written so.)
_WORD = re.compile(r"\d+(?:\+\d+)+|\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_PERCENT = re.compile(r"(?<=\d)\s*(?:percent|per cent)\b", re.IGNORECASE)


# Forms the suffix rules below cannot join to their base word.
_IRREGULAR = {"daily": "day", "yearly": "year", "annual": "year", "annually": "year", "monthly": "month",
              "weekly": "week", "economic": "economy", "economies": "economy", "people": "person",
              "companies": "company", "enterprises": "company", "enterprise": "company", "firms": "company",
              "firm": "company", "cities": "city", "built": "build", "held": "hold", "began": "begin",
              "begun": "begin", "left": "leave", "went": "go", "gone": "go", "grew": "grow", "grown": "grow"}


def stem(word: str) -> str:
    """A light English stemmer: plurals and a few verb endings, enough to match 'vehicles' with 'vehicle'. A stem is
    its own stem ("chinese" -> "chin", not "chines", which stems to "chin"): terms stored by an index, stemmed again
    when read, stay the terms a question gives, and "left" meets "leave" ("leav")."""
    for _ in range(4):  # (each round only shortens the word, after "left" -> "leave")
        stemmed = _stem_once(word)
        if stemmed == word:
            break
        word = stemmed
    return word


def _stem_once(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word[0].isdigit():
        return word
    # ("ings" before "ing" and "s": "crossings" and "crossing" are one term.)
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ings", ""), ("ing", ""), ("ed", ""), ("es", "e"),
                                ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and word[:-2].endswith(("ss", "x", "z", "ch", "sh")):
                return word[:-2]  # "approaches" -> "approach", not "approache"
            word = word[: len(word) - len(suffix)] + replacement
            break
    # A silent final "e" goes too: "showcase" and "showcasing", "emphasize" and "emphasized" are one term.
    return word[:-1] if word.endswith("e") and len(word) >= 5 else word


# A name of short hyphenated syllables ("Su-Tong", "Hu-Ning") is also written solid ("Sutong"): one term for both.
_SYLLABLE_NAME = re.compile(r"\b([A-Z][a-z]{1,4})-([A-Z][a-z]{1,4})\b")

# "The 6th plenary meeting" is the sixth; "November 8th" and "the 8th of November" are the 8 of "November 8".
_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
                  "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DIGIT_ORDINAL = re.compile(rf"(?P<month>\b{_MONTH}\.?\s+)?\b(?P<n>\d{{1,2}})(?:st|nd|rd|th)\b"
                            rf"(?P<of>\s+(?:of\s+)?{_MONTH}\b)?", re.IGNORECASE)


def spell_ordinals(text: str) -> str:
    """Ordinals in words ("the 6th plenary meeting" -> "the sixth plenary meeting"), days as numbers ("November
    8th", "17th November", "the 8th of November" -> "November 8", "17 November", "8 of November")."""
    return _DIGIT_ORDINAL.sub(_ordinal, text)


def _ordinal(match: re.Match[str]) -> str:
    number = int(match.group("n"))
    if match.group("month") or match.group("of") or not 1 <= number <= len(_ORDINAL_WORDS):
        return f"{match.group('month') or ''}{number}{match.group('of') or ''}"
    return _ORDINAL_WORDS[number - 1]


# British spellings are the American ones ("moulds" are the "molds" of "Mold Capital", a "centre" is a "center"):
# the articles and their readers write either.
_BRITISH_STEMS = {base: base.replace("our", "or") for base in (
    "colour honour favour labour neighbour harbour behaviour flavour humour rumour vapour endeavour savour vigour "
    "odour armour").split()}
_BRITISH_STEMS.update({base: base[:-2] + "er" for base in "centre metre kilometre litre theatre fibre calibre".split()})
_BRITISH_STEMS.update({base: base[:-1] for base in "travell modell labell cancell fuell signall levell channell".split()})
_BRITISH_STEMS.update({"mould": "mold", "programme": "program", "tonne": "ton", "defence": "defense",
                       "licence": "license", "offence": "offense", "analys": "analyz", "catalys": "catalyz",
                       "organis": "organiz", "recognis": "recogniz", "emphasis": "emphasiz", "prioritis": "prioritiz",
                       "optimis": "optimiz", "utilis": "utiliz", "summaris": "summariz", "modernis": "moderniz",
                       "symbolis": "symboliz", "maximis": "maximiz", "minimis": "minimiz", "authoris": "authoriz",
                       "characteris": "characteriz", "criticis": "criticiz", "harmonis": "harmoniz",
                       "categoris": "categoriz", "subsidis": "subsidiz", "mobilis": "mobiliz", "stabilis": "stabiliz",
                       "aluminium": "aluminum", "grey": "gray"})
_BRITISH = re.compile(r"^(?:" + "|".join(sorted(_BRITISH_STEMS, key=len, reverse=True)) + r")")
# "-alise", "-isation": "realise", "urbanisation" (spellings of "-alize", "-ization"; the rare word that is not one,
# "valise", is analysed the same on both sides).
_BRITISH_SUFFIX = re.compile(r"(?<=al)is(?=(?:e|ed|es|ing|ation|ations)$)|is(?=(?:ation|ations)$)")
# A word that stands for several: "Politburo" is the "Political Bureau" the articles write.
_EXPANSIONS = {"politburo": ("political", "bureau")}


def _american(token: str) -> str:
    token = _BRITISH.sub(lambda m: _BRITISH_STEMS[m.group(0)], token, count=1)
    return _BRITISH_SUFFIX.sub("iz", token, count=1)


# Latin letters that carry no separable accent, as a reader without the key types them.
_UNACCENTED = str.maketrans({"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae",
                             "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i"})
# The combining accents of Latin, Greek and Cyrillic letters; not the marks of other scripts (a kana's dakuten
# changes the sound: "が" is not "か").
_ACCENTS = re.compile("[\u0300-\u036f]")


def fold_accents(text: str) -> str:
    """Text without its letters' accents: "Zoë Brontë" is "Zoe Bronte", "Zürich" "Zurich", "Tomás" "Tomas".
    Readers on an English keyboard type the names without them, and got "the articles do not say"."""
    if text.isascii():
        return text
    import unicodedata

    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", text.translate(_UNACCENTED))))


def analyze(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased, stemmed terms without accents ("Zürich" -> "zurich"); numbers lose their thousands commas
    ("90,000" -> "90000"), ordinals their digits ("6th" -> "sixth", but "November 8th" -> "November 8"), British
    words their spelling ("moulds" -> "mold"); "40 percent" is "40%"."""
    terms = []
    text = _PERCENT.sub("%", spell_ordinals(_SYLLABLE_NAME.sub(r"\1\2", fold_accents(text))))
    for match in _WORD.finditer(text.lower()):
        token = match.group(0).replace("’", "'")
        if token[0].isdigit():
            token = re.sub(r",(?=\d{3}\b)", "", token)
        elif token.endswith("'s"):
            token = token[:-2]
        if not keep_stopwords and token in STOPWORDS:
            continue
        if token in _EXPANSIONS:
            terms.extend(stem(part) for part in _EXPANSIONS[token])
            continue
        terms.append(stem(_american(token)) if not token[0].isdigit() else token)
    return terms


def _import_bm25s() -> Any:
    import bm25s

    # bm25s sets its logger to DEBUG on import, which prints "Building index from tokens" on every `bot index`.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


# Bump when analyze()/stem() change: a keyword index built with another analyser is stale.
ANALYZER_VERSION = "9"  # 9: accents folded


def ids_digest(ids: Iterable[str]) -> str:
    """Names the chunk ids and the analyser a keyword index was built from."""
    return hashlib.sha256("\n".join([f"analyzer {ANALYZER_VERSION}", *sorted(ids)]).encode()).hexdigest()


class BM25Index:
    """bm25s over chunk texts, addressed by chunk id."""

    def __init__(self, model: object, ids: Sequence[str], meta: Sequence[dict] | None = None) -> None:
        self._model = model
        self.ids = list(ids)
        # A few light fields per chunk (source, title, published_ts), for filters without asking the store.
        self.meta = list(meta) if meta is not None else [{} for _ in self.ids]
        self.digest = ids_digest(self.ids)
        self._position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        vocab = getattr(model, "vocab_dict", {}) or {}
        self._vocab = vocab
        num_docs = max(1, len(self.ids))
        # Document frequency per term, for the answerer's key-term weights.
        scores = getattr(model, "scores", {})
        indptr = np.asarray(scores.get("indptr", [0]))
        self._df = {term: int(indptr[i + 1] - indptr[i]) for term, i in vocab.items() if i + 1 < len(indptr)}
        self._num_docs = num_docs

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], meta: Sequence[dict] | None = None) -> BM25Index:
        bm25s = _import_bm25s()

        model = bm25s.BM25()
        corpus = [analyze(t) or ["∅"] for t in texts]
        # An empty index (every file removed) is still saved and loaded: bm25s needs one document to save.
        model.index(corpus or [["∅"]], show_progress=False)
        return cls(model, ids, meta)

    IDS_FILE = "chunk_ids.json"

    def save(self, directory: Path) -> None:
        """Write next to the old copy and swap, so a crash never leaves a half-written index."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.with_name(directory.name + ".tmp")
        if tmp.exists():
            _remove_tree(tmp)
        self._model.save(str(tmp))
        (tmp / self.IDS_FILE).write_text(json.dumps({"digest": self.digest, "ids": self.ids, "meta": self.meta}))
        replace_directory(tmp, directory)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        """The saved index, or None when there is none (or it cannot be read)."""
        bm25s = _import_bm25s()

        meta = directory / cls.IDS_FILE
        if not meta.is_file():
            return None
        try:
            saved = json.loads(meta.read_text())
            model = bm25s.BM25.load(str(directory))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 index in %s is unreadable (%s); it will be rebuilt", directory, exc)
            return None
        return cls(model, saved["ids"], saved.get("meta"))

    def ids_where(self, predicate: Callable[[dict], bool]) -> set[str]:
        return {chunk_id for chunk_id, meta in zip(self.ids, self.meta, strict=True) if predicate(meta)}

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency of an analysed term (high for rare names, ~0 for common words)."""
        df = self._df.get(term, 0)
        return float(np.log(1.0 + (self._num_docs - df + 0.5) / (df + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        """A BM25 score for every chunk, in `ids` order."""
        terms = [t for t in analyze(query) if t in self._vocab]
        if not terms or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)

    def search(self, query: str, *, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The best `n` (chunk id, score) pairs with a positive score, optionally only among `allowed` ids."""
        scores = self.scores(query)
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            for chunk_id in allowed:
                position = self._position.get(chunk_id)
                if position is not None:
                    mask[position] = True
            scores = np.where(mask, scores, 0.0)
        if not len(scores):
            return []
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def replace_directory(new: Path, directory: Path) -> None:
    """Put the saved index in `new` in place of the one in `directory`, by renaming: a reader finds the old one or
    the new one, never half of either."""
    old = directory.with_name(directory.name + ".old")
    if old.exists():  # left by a crash
        _remove_tree(old)
    if directory.exists():
        directory.rename(old)
    new.rename(directory)
    if old.exists():
        _remove_tree(old)


def remove_directory(directory: Path) -> None:
    """Delete a saved index, if there is one (e.g. a rebuild's that came to nothing)."""
    _remove_tree(directory)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
