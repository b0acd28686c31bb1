"""User-facing messages: Bahasa Indonesia by default, English with `Accept-Language: en`.

Every message has a key; `t(key, **params)` formats it in the language of the request being
served: the request context sets it once (`use_lang`, from Accept-Language), so helpers do not
pass a language around. Texts stored for later readers (notifications) name "id" explicitly.
Domain modules add their own messages with `register({...})` so this table stays the single
place texts are looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

Lang = str  # "id" or "en"

# The language of the request this task serves; each request runs in its own asyncio task, and a
# subscription's operations in tasks started after its connection set it.
_REQUEST_LANG: ContextVar[Lang] = ContextVar("sigma_request_lang", default="id")

_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Wajib diisi", "Required"),
    "too_short": ("Minimal {min} karakter", "At least {min} characters"),
    "too_long": ("Maksimal {max} karakter", "At most {max} characters"),
    "out_of_range": ("Harus antara {min} dan {max}", "Must be between {min} and {max}"),
    "invalid": ("Format tidak valid", "Invalid format"),
    "not_found": ("Data tidak ditemukan", "Not found"),
    "forbidden": ("Anda tidak memiliki akses", "You do not have access"),
    "unauthenticated": ("Silakan masuk terlebih dahulu", "Please sign in first"),
    "invalid_state": (
        "Status saat ini tidak mengizinkan tindakan ini",
        "The current status does not allow this action",
    ),
    "bad_first": (
        "Argumen first harus antara 1 dan 100",
        "Argument first must be between 1 and 100",
    ),
    "bad_cursor": ("Cursor tidak valid", "Invalid cursor"),
    "internal": ("Terjadi kesalahan internal server", "Internal server error"),
    "db_unavailable": (
        "Basis data {db} sedang tidak tersedia, coba lagi nanti",
        "Database {db} is unavailable, try again later",
    ),
}


def register(messages: Mapping[str, tuple[str, str]]) -> None:
    """Adds a domain's messages; a key may be defined once."""
    for key, value in messages.items():
        if key in _MESSAGES and _MESSAGES[key] != value:
            raise ValueError(f"message key {key!r} defined twice")
        _MESSAGES[key] = value


def use_lang(lang: Lang) -> None:
    """Sets the language of the request this task serves (called when its context is built)."""
    _REQUEST_LANG.set(lang)


def current_lang() -> Lang:
    return _REQUEST_LANG.get()


def t(key: str, lang: Lang | None = None, **params: object) -> str:
    """The message `key` in `lang`, by default the current request's language."""
    indonesian, english = _MESSAGES[key]
    text = english if (lang or _REQUEST_LANG.get()) == "en" else indonesian
    return text.format(**params) if params else text


def negotiate(accept_language: str | None) -> Lang:
    """'en' when English is the client's first language preference, otherwise 'id'."""
    if not accept_language:
        return "id"
    first = accept_language.split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else "id"
