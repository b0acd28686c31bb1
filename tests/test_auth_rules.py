"""Property tests of the account input rules (pure functions, no server)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from resolvers.rules.account import (
    PASSWORD_MIN,
    email_errors,
    nama_errors,
    nik_errors,
    password_errors,
    phone_errors,
)
from sigma_graphql.core.common_passwords import COMMON_PASSWORDS

P = ["input", "x"]


def codes(errors: list) -> list[str]:  # type: ignore[type-arg]
    return [e.code.value for e in errors]


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_sixteen_digits_are_a_nik(nik: str) -> None:
    assert nik_errors(nik, P) == []


@given(st.text(alphabet="0123456789", min_size=1, max_size=30).filter(lambda s: len(s) != 16))
def test_other_lengths_are_not(nik: str) -> None:
    assert codes(nik_errors(nik, P)) == ["INVALID"]


@given(
    st.one_of(
        st.builds(lambda d: "08" + d, st.text(alphabet="0123456789", min_size=8, max_size=13)),
        st.builds(lambda d: "+628" + d, st.text(alphabet="0123456789", min_size=7, max_size=12)),
    ),
    st.sampled_from(["", " ", "-"]),
)
def test_indonesian_mobile_numbers_pass_with_separators(number: str, sep: str) -> None:
    spaced = number[:4] + sep + number[4:8] + sep + number[8:]
    assert phone_errors(spaced, P) == []


@given(
    st.one_of(
        st.builds(lambda d: "08" + d, st.text(alphabet="0123456789", max_size=7)),
        st.builds(lambda d: "08" + d, st.text(alphabet="0123456789", min_size=14, max_size=20)),
        st.builds(lambda d: "021" + d, st.text(alphabet="0123456789", min_size=7, max_size=12)),
        st.builds(lambda d: "+621" + d, st.text(alphabet="0123456789", min_size=7, max_size=12)),
    )
)
def test_other_numbers_fail(number: str) -> None:
    assert codes(phone_errors(number, P)) == ["INVALID"]


@given(st.emails().filter(lambda e: len(e) <= 254))
def test_generated_emails_are_valid(email: str) -> None:
    assert email_errors(email, P) == []


@given(st.text(max_size=PASSWORD_MIN - 1).filter(lambda p: p != ""))
def test_short_passwords_are_too_short(password: str) -> None:
    assert codes(password_errors(password, "a@b.id", P)) == ["TOO_SHORT"]


@given(st.sampled_from(sorted(p for p in COMMON_PASSWORDS if len(p) >= PASSWORD_MIN)))
def test_common_passwords_are_weak_in_any_case(password: str) -> None:
    assert codes(password_errors(password.upper(), "a@b.id", P)) == ["WEAK_PASSWORD"]


@given(st.emails().filter(lambda e: len(e) >= PASSWORD_MIN))
def test_the_email_is_not_a_password(email: str) -> None:
    assert codes(password_errors(email.swapcase(), email, P)) == ["WEAK_PASSWORD"]


# Names are single-line text: no control characters, no line separators (input_limits.py).
_NAME_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029")


@given(st.text(_NAME_CHARS, min_size=3, max_size=100).filter(lambda s: len(s.strip()) >= 3))
def test_names_of_3_to_100_chars(nama: str) -> None:
    assert nama_errors(nama, P) == []


@given(
    st.text(_NAME_CHARS, min_size=3, max_size=40).filter(lambda s: len(s.strip()) >= 3),
    st.sampled_from(["\x00", "\x1b", "\n", "\t", "\x7f", "\x85", "\u2028"]),
)
@example(nama="  000", control="\n")  # found by CI: the control used to land in the spaces
def test_names_with_a_control_character_are_invalid(nama: str, control: str) -> None:
    # Inside the name, not among the spaces around it: those are trimmed before the check
    # (a "\n" there, as in "  \n000", leaves the valid name "000").
    trimmed = nama.strip()
    assert codes(nama_errors(trimmed[:1] + control + trimmed[1:], P)) == ["INVALID"]


def test_session_cookie_is_secure_outside_development() -> None:
    from starlette.responses import Response

    from sigma_graphql.core.settings import Settings
    from sigma_graphql.request.session_cookie import clear_session_cookie, set_session_cookie

    for environment, secure in (("production", True), ("development", False), ("test", False)):
        response = Response()
        set_session_cookie(response, Settings(environment=environment), "tok")  # type: ignore[arg-type]
        cookie = response.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure, environment
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=86400" in cookie
        cleared = Response()
        clear_session_cookie(cleared, Settings(environment=environment))  # type: ignore[arg-type]
        assert "max-age=0" in cleared.headers["set-cookie"].lower()
