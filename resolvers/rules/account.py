"""Input rules of accounts (contract comments of RegisterInput/CreateUserInput) and messages,
and text_errors: the input limits of any free text as userErrors.

Each rule returns a list of UserErrors so a mutation can report every violation at once.
"""

from __future__ import annotations

import re

from resolvers.common import user_error
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.common_passwords import is_common
from sigma_graphql.core.i18n import register

register(
    {
        "auth.email_invalid": ("Format email tidak valid", "Invalid email address"),
        "auth.email_taken": ("Email sudah terdaftar", "Email is already registered"),
        "auth.nik_invalid": ("NIK harus tepat 16 digit angka", "NIK must be exactly 16 digits"),
        "auth.nik_taken": ("NIK sudah terdaftar", "NIK is already registered"),
        "auth.phone_invalid": (
            "Nomor HP harus nomor seluler Indonesia (08… atau +628…, 10–15 digit)",
            "Phone must be an Indonesian mobile number (08… or +628…, 10–15 digits)",
        ),
        "auth.password_is_email": (
            "Password tidak boleh sama dengan email",
            "Password must not be the email address",
        ),
        "auth.password_common": (
            "Password terlalu umum, pilih yang lain",
            "Password is too common, choose another one",
        ),
        "auth.password_mismatch": (
            "Konfirmasi password tidak cocok",
            "Password confirmation does not match",
        ),
        "auth.login_failed": ("Email atau password salah", "Incorrect email or password"),
        "auth.rate_limited": (
            "Terlalu banyak percobaan masuk yang gagal, coba lagi nanti",
            "Too many failed sign-in attempts, try again later",
        ),
        "auth.token_unknown": (
            "Tautan tidak valid atau sudah digunakan",
            "The link is invalid or has already been used",
        ),
        "auth.token_expired": ("Tautan sudah kedaluwarsa", "The link has expired"),
        "auth.current_password_wrong": (
            "Password saat ini salah",
            "The current password is incorrect",
        ),
        "auth.not_self": (
            "Anda tidak dapat melakukan ini pada akun sendiri",
            "You cannot do this to your own account",
        ),
        "auth.staff_roles_only": (
            "Hanya akun PEJABAT atau ADMIN yang dapat dibuat di sini",
            "Only PEJABAT or ADMIN accounts can be created here",
        ),
        "auth.wilayah_pejabat_only": (
            "Wilayah hanya untuk akun PEJABAT",
            "Wilayah applies to PEJABAT accounts only",
        ),
        "auth.owner_needs_nik": (
            "Akun tanpa NIK tidak dapat menjadi UMKM_OWNER",
            "An account without NIK cannot become UMKM_OWNER",
        ),
        "auth.status_not_settable": (
            "Status hanya dapat diubah menjadi ACTIVE atau SUSPENDED",
            "Status can only be set to ACTIVE or SUSPENDED",
        ),
        "auth.mail_verify_subject": (
            "Verifikasi email akun SIGMA-UMKM Anda",
            "Verify the email of your SIGMA-UMKM account",
        ),
        "auth.mail_verify_body": (
            "Halo {nama},\n\nKlik tautan berikut untuk mengaktifkan akun Anda (berlaku 15 "
            "menit):\n\n{link}\n\nAbaikan email ini jika Anda tidak mendaftar.\n",
            "Hello {nama},\n\nOpen this link to activate your account (valid for 15 minutes):"
            "\n\n{link}\n\nIgnore this email if you did not sign up.\n",
        ),
        "auth.mail_reset_subject": (
            "Atur ulang password SIGMA-UMKM",
            "Reset your SIGMA-UMKM password",
        ),
        "auth.mail_reset_body": (
            "Halo {nama},\n\nKlik tautan berikut untuk membuat password baru (berlaku 15 "
            "menit):\n\n{link}\n\nAbaikan email ini jika Anda tidak memintanya.\n",
            "Hello {nama},\n\nOpen this link to choose a new password (valid for 15 minutes):"
            "\n\n{link}\n\nIgnore this email if you did not ask for it.\n",
        ),
    }
)

NAMA_MIN = 3
PASSWORD_MIN = 10
PASSWORD_MAX = limits.PASSWORD_MAX
EMAIL_MAX = limits.EMAIL.max_len

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
# ASCII digits only: \d would take any script's digits.
_NIK = re.compile(r"^[0-9]{16}$")
# 08 followed by 8..13 digits (10..15 in all) or +62 8 followed by 7..12 digits (10..15 digits).
_MOBILE = re.compile(r"^(08[0-9]{8,13}|\+628[0-9]{7,12})$")


def normalize_email(email: str) -> str:
    return email.strip()


def normalize_phone(phone: str) -> str:
    """Spaces, dashes, dots and parentheses people type are dropped before the check."""
    return re.sub(r"[\s\-.()]", "", phone)


def text_errors(value: str, limit: limits.Text, path: list[str]) -> list[UserError]:
    """Length and control characters of free text as it will be stored
    (sigma_graphql/core/input_limits.py); an empty value is fine (required fields say so)."""
    problem = limits.text_problem(value, limit)
    if problem is None:
        return []
    return [user_error(path, problem.key, UserErrorCode(problem.code), **problem.params)]


def nama_errors(nama: str, path: list[str]) -> list[UserError]:
    value = nama.strip()
    if not value:
        return [user_error(path, "required", UserErrorCode.REQUIRED)]
    if len(value) < NAMA_MIN:
        return [user_error(path, "too_short", UserErrorCode.TOO_SHORT, min=NAMA_MIN)]
    return text_errors(value, limits.NAME, path)


def email_usable(email: str) -> bool:
    """Short enough and without control characters: worth a database lookup at all."""
    return limits.text_problem(normalize_email(email), limits.EMAIL) is None


def email_errors(email: str, path: list[str]) -> list[UserError]:
    value = normalize_email(email)
    if not value:
        return [user_error(path, "required", UserErrorCode.REQUIRED)]
    if not email_usable(value) or not _EMAIL.match(value):
        return [user_error(path, "auth.email_invalid", UserErrorCode.INVALID)]
    return []


def nik_errors(nik: str, path: list[str]) -> list[UserError]:
    if not nik.strip():
        return [user_error(path, "required", UserErrorCode.REQUIRED)]
    if not _NIK.match(nik.strip()):
        return [user_error(path, "auth.nik_invalid", UserErrorCode.INVALID)]
    return []


def phone_errors(phone: str, path: list[str]) -> list[UserError]:
    if len(phone) > limits.PHONE.max_len:
        return [user_error(path, "auth.phone_invalid", UserErrorCode.INVALID)]
    value = normalize_phone(phone)
    if not value:
        return [user_error(path, "required", UserErrorCode.REQUIRED)]
    if not _MOBILE.match(value):
        return [user_error(path, "auth.phone_invalid", UserErrorCode.INVALID)]
    return []


def password_errors(password: str, email: str, path: list[str]) -> list[UserError]:
    """Length, not the e-mail, not a common password (the first rule broken is reported)."""
    if not password:
        return [user_error(path, "required", UserErrorCode.REQUIRED)]
    if len(password) < PASSWORD_MIN:
        return [user_error(path, "too_short", UserErrorCode.TOO_SHORT, min=PASSWORD_MIN)]
    if len(password) > PASSWORD_MAX:
        return [user_error(path, "too_long", UserErrorCode.TOO_LONG, max=PASSWORD_MAX)]
    if email and password.strip().lower() == normalize_email(email).lower():
        return [user_error(path, "auth.password_is_email", UserErrorCode.WEAK_PASSWORD)]
    if is_common(password):
        return [user_error(path, "auth.password_common", UserErrorCode.WEAK_PASSWORD)]
    return []
