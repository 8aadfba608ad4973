"""National ID and card numbers of the shipped countries, with their check digits where they have one.

Each finder works on folded text (NFKC, case-folded: full-width digits are ASCII here) and yields
[start, end) spans. A number is only reported when its structure validates (checksum, date, region code), so
years, sums and other numbers in a maths question are left alone.

| country | format | validated by |
|---|---|---|
| jp | My Number, 12 digits | check digit (mod 11) |
| th | national ID, 13 digits (1-2345-67890-12-3) | check digit (mod 11) |
| sg | NRIC/FIN, S/T/F/G/M + 7 digits + letter | check letter |
| my | MyKad, YYMMDD-PB-###G | birth date and place-of-birth code |
| id | NIK, 16 digits | region code and birth date (day + 40 for women) |
| vn | CCCD, 12 digits | province code and century/sex digit |
| ph | PhilSys PSN 12 / PCN 16 digits, printed in groups of 4 | the grouping (no public checksum) |
| kh | national ID card, 9-10 digits | only next to an ID word (no public checksum) |

Numbers grouped 4-4-4(-4) with spaces or hyphens, and Luhn-valid 16-digit card numbers, are identifiers
whatever their country. Student numbers have no national format; they are found by the words before them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

Span = tuple[int, int]

_SEP = r"[ \-]?"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def my_number_ok(d: str) -> bool:
    """Japan's My Number: the 12th digit is a mod-11 check over the first 11."""
    if len(d) != 12 or not d.isdigit():
        return False
    body = [int(c) for c in d[:11]][::-1]        # P1 is the digit just left of the check digit
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    rest = total % 11
    return int(d[11]) == (0 if rest <= 1 else 11 - rest)


def thai_id_ok(d: str) -> bool:
    if len(d) != 13 or not d.isdigit() or d[0] == "0":
        return False
    total = sum(int(d[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(d[12])


_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_NRIC_TABLES = {"s": "jzihgfedcba", "t": "jzihgfedcba", "f": "xwutrqpnmlk", "g": "xwutrqpnmlk"}


def nric_ok(value: str) -> bool:
    """Singapore NRIC/FIN, e.g. S1234567D. Case-insensitive."""
    value = value.casefold()
    if len(value) != 9 or value[0] not in "stfgm" or not value[1:8].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(value[1:8], _NRIC_WEIGHTS, strict=True))
    total += {"t": 4, "g": 4, "m": 3}.get(value[0], 0)
    rest = total % 11
    if value[0] == "m":
        # The M series (2022) table is published in two orders; either reading is a FIN, redact it.
        return value[8] in ("kljnpqrtuwx"[rest], "kljnpqrtuwx"[10 - rest])
    return _NRIC_TABLES[value[0]][rest] == value[8]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# Malaysia's place-of-birth codes: states 01-16 (with 21-59 as older state codes), and foreign-born 60-99
# except the unassigned 69, 70, 73, 80, 81, 94-97.
_MY_PB = {f"{n:02d}" for n in [*range(1, 17), *range(21, 60), *range(60, 69), 71, 72, *range(74, 80),
                               *range(82, 94), 98, 99]}


def mykad_ok(d: str) -> bool:
    if len(d) != 12 or not d.isdigit():
        return False
    yy, mm, dd = int(d[0:2]), int(d[2:4]), int(d[4:6])
    return _valid_date(2000 + yy, mm, dd) and d[6:8] in _MY_PB


_ID_PROVINCES = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
                 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97}


def nik_ok(d: str) -> bool:
    """Indonesia's NIK: PP KK SS DDMMYY NNNN; women's DD is day + 40."""
    if len(d) != 16 or not d.isdigit() or int(d[0:2]) not in _ID_PROVINCES:
        return False
    day, month, yy = int(d[6:8]), int(d[8:10]), int(d[10:12])
    if day > 40:
        day -= 40
    return _valid_date(2000 + yy, month, day) and d[12:] != "0000"


_VN_PROVINCES = {1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38,
                 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80,
                 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96}


def cccd_ok(d: str) -> bool:
    """Vietnam's CCCD: province code (3 digits), century and sex (0-3 for 1900-2099), birth year, 6 digits."""
    return len(d) == 12 and d.isdigit() and int(d[0:3]) in _VN_PROVINCES and d[3] in "0123"


def luhn_ok(d: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# Boundaries are ASCII letters and digits only: in Japanese or Thai the number sits right against words.
_RUN = re.compile(r"(?<![0-9a-z.,])\d(?:[ \-]?\d){8,15}(?![0-9a-z]|[.,]\d)")
_GROUPED = re.compile(r"(?<![0-9a-z\-])\d{4}([ \-])\d{4}\1\d{4}(?:\1\d{4})?(?![0-9a-z]|-\d)")
_MYKAD = re.compile(r"(?<![0-9a-z\-])\d{6}-\d{2}-\d{4}(?![0-9a-z]|-\d)")
_THAI = re.compile(r"(?<![0-9a-z\-])\d-\d{4}-\d{5}-\d{2}-\d(?![0-9a-z]|-\d)")
_NRIC = re.compile(r"(?<![0-9a-z])[stfgm]\d{7}[a-z](?![0-9a-z])")

# An identifier announced by the words before it: student numbers (no national format), Cambodian ID cards,
# passports and the like. The number must contain at least 4 digits.
ID_WORDS = (
    r"student\s*(?:id|no\.?|number)|id\s*(?:no\.?|number|card)|identity\s*card|nric|fin|mykad|ic\s*no\.?|"
    r"passport(?:\s*no\.?)?|nisn|nis|nik|ktp|lrn|philsys|psn|pcn|cccd|cmnd|mã\s*số(?:\s*học\s*sinh)?|"
    r"số\s*(?:cccd|cmnd|định\s*danh)|nombor\s*(?:pelajar|kad\s*pengenalan|ic)|no\.?\s*(?:pelajar|induk)|"
    r"学籍番号|生徒番号|学生番号|マイナンバー|個人番号|パスポート番号|身分证(?:号码?)?|学号|"
    r"รหัสนักเรียน|เลขประจำตัว(?:ประชาชน|นักเรียน)?|เลขบัตรประชาชน|"
    r"អត្តសញ្ញាណប័ណ្ណ(?:លេខ)?|លេខអត្តសញ្ញាណ(?:ប័ណ្ណ)?|លេខសម្គាល់សិស្ស"
)
_ANNOUNCED = re.compile(rf"(?<![a-z])(?:{ID_WORDS})\s*(?:[:：#=]|は|คือ|là)?\s*([a-z]{{0,3}}\d(?:[ \-/]?\d|[a-z]){{2,22}})")


def find_ids(folded: str) -> Iterator[Span]:
    for m in _NRIC.finditer(folded):
        if nric_ok(m.group()):
            yield m.span()
    for m in _GROUPED.finditer(folded):
        if not m.group().startswith("0"):         # 0812-3456-7890 is an Indonesian mobile number
            yield m.span()
    for m in _THAI.finditer(folded):
        if thai_id_ok(_digits(m.group())):
            yield m.span()
    for m in _MYKAD.finditer(folded):
        if mykad_ok(_digits(m.group())):
            yield m.span()
    for m in _RUN.finditer(folded):
        d = _digits(m.group())
        if ((len(d) == 12 and (my_number_ok(d) or cccd_ok(d) or mykad_ok(d)))
                or (len(d) == 13 and thai_id_ok(d))
                or (len(d) == 16 and (nik_ok(d) or luhn_ok(d)))):
            yield m.span()
    for m in _ANNOUNCED.finditer(folded):
        if sum(c.isdigit() for c in m.group(1)) >= 4:
            yield m.span(1)
