"""How two ways of writing a person's name are compared: in search (a part of the name, in
SQL) and when a new patient may be one registered before (whole names, in Python).

A name's search key (:func:`clinic.text.search_key`) is in Latin letters whatever script it
was typed in. Each comparison folds both sides in several ways, each a way people write a
name, and matches when any of them does; PostgreSQL has a trigram index for each folding of
the search key (migrations 0019, 0021 and 0023).
"""

from __future__ import annotations

from sqlalchemy import func, or_

from clinic.text import APOSTROPHE, LOOSE_FOLDS

# Latin typed without the sign: "Otkir" for "Oʻtkir", "Gozal" for "Goʻzal". Searching
# compares keys folded this way too, beside LOOSE_FOLDS (which make "oʻ" the Russian "у").
BARE_FOLDS = tuple(fold for fold in LOOSE_FOLDS if fold[0] != "o" + APOSTROPHE)
# Russian is usually written with "е" for "ё": "Семенов" for "Семёнов" (semyonov), "Елкин"
# for "Ёлкин" (yolkin). Russian passports write "ю", "я" and "й" as "iu", "ia" and "i":
# "Iusupov" for "Юсупов" (yusupov), "Tsoi" for "Цой" (tsoy), "Evgenii" for "Евгений". A third
# comparison folds "ё" and "е" to "e", then every "y" to "i" (kept apart from the other two,
# so a name typed up to its "y", "Semy", still finds "Semyonov"). Migration 0021 indexes it.
YO_FOLDS = LOOSE_FOLDS + (("yo", "e"), ("ye", "e"), ("y", "i"))
# Both at once: Latin typed without the sign the Russian way, "Roziev" for "Roʻziyev",
# "Toraev" for "Toʻrayev" (migration 0023 indexes it).
BARE_YO_FOLDS = BARE_FOLDS + (("yo", "e"), ("ye", "e"), ("y", "i"))
# The foldings a name is compared in, each a way people write it.
NAME_FOLDINGS = (LOOSE_FOLDS, BARE_FOLDS, YO_FOLDS, BARE_YO_FOLDS)


def loosely_contains(column, key: str):
    """``column`` (a search key) contains ``key``, both compared with the distinctions of
    :data:`clinic.text.LOOSE_FOLDS` dropped ("Уткир" finds "Oʻtkir"), with the sign simply
    left out ("Otkir" finds it too), with "ё" written as "е" ("Семенов" finds "Семёнов"), or
    with both the sign left out and "ye" written as "e" ("Roziev" finds "Roʻziyev")."""
    return or_(
        *(
            _folded(column, folds).contains(_fold(key, folds), autoescape=True)
            for folds in NAME_FOLDINGS
        )
    )


def same_name(key: str, other: str) -> bool:
    """Two search keys name the same person: the same words in any order, compared as
    :func:`loosely_contains` compares them ("Karimov Sherzod" is "Шерзод Каримов")."""
    return any(
        sorted(_fold(key, folds).split()) == sorted(_fold(other, folds).split())
        for folds in NAME_FOLDINGS
    )


def holds_name(key: str, other: str) -> bool:
    """One of two search keys holds every word of the other, two words at least, compared
    as :func:`same_name` compares them: "Karimov Sherzod" and "Каримов Шерзод Анварович",
    the same person written with and without his father's name."""
    for folds in NAME_FOLDINGS:
        words, others = set(_fold(key, folds).split()), set(_fold(other, folds).split())
        if min(len(words), len(others)) >= 2 and (words <= others or others <= words):
            return True
    return False


def _folded(column, folds):
    for old, new in folds:
        column = func.replace(column, old, new)
    return column


def _fold(key: str, folds) -> str:
    for old, new in folds:
        key = key.replace(old, new)
    return key
