"""E-mail addresses, phone numbers and street addresses: finders over folded text (NFKC, case-folded).

Phone numbers: international (+CC ...), the national trunk-0 formats of jp, th, vn, id, my, ph and kh
(9-12 digits starting with 0, in groups), Singapore's 8-digit numbers written in two groups, and any 7-15
digit number right after a phone word (tel, 電話, โทร, điện thoại, ...). A lone 0.5 or a year is never a phone.

Street addresses are found where they have a recognisable shape: Japanese chōme/banchi and 〒 postcodes,
house number + street type (en, ms, id, tl), Singapore blocks and unit numbers, Vietnamese số/đường, Thai
บ้านเลขที่/ถนน/ซอย, Khmer ផ្ទះលេខ/ផ្លូវ, Indonesian RT/RW. Free-form addresses without such markers are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int]

_EMAIL = re.compile(r"(?<![0-9a-z._%+\-])[0-9a-z._%+\-]+@[0-9a-z\-]+(?:\.[0-9a-z\-]+)*\.[a-z]{2,}(?![0-9a-z])")

_INTERNATIONAL = re.compile(r"(?<![0-9a-z+])\+\s?\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){2,6}(?![0-9])")
# jp 090-1234-5678 / 03(1234)5678, th 081-234-5678 / 02-123-4567, vn 0912 345 678, id 0812-3456-7890,
# my 012-345 6789, ph 0917 123 4567, kh 012 345 678
_TRUNK = re.compile(r"(?<![0-9a-z.,+\-])0\d{1,4}(?:[ .\-]?\(?\d{1,5}\)?){1,4}(?![0-9]|[.,]\d)")
_SINGAPORE = re.compile(r"(?<![0-9a-z.,+\-])[3689]\d{3}[ \-]\d{4}(?![0-9]|[.,\-]\d)")
PHONE_WORDS = (r"tel\.?|phone|mobile|call|hp|whatsapp|line|sms|電話(?:番号)?|携帯(?:番号)?|でんわ|手机|电话|"
               r"โทร(?:ศัพท์)?|เบอร์(?:โทร)?|điện\s*thoại|sđt|sdt|telepon|telefon|nombor\s*telefon|no\.?\s*hp|"
               r"numero|numéro|ទូរស័ព្ទ|លេខទូរស័ព្ទ")
_ANNOUNCED_PHONE = re.compile(rf"(?<![a-z])(?:{PHONE_WORDS})\D{{0,12}}?(\+?\d(?:[ .\-]?\(?\d\)?){{6,14}})(?![0-9])")


def find_emails(folded: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(folded):
        yield m.span()


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def find_phones(folded: str) -> Iterator[Span]:
    for m in _INTERNATIONAL.finditer(folded):
        if 8 <= _digit_count(m.group()) <= 15:
            yield m.span()
    for m in _TRUNK.finditer(folded):
        if 9 <= _digit_count(m.group()) <= 12:
            yield m.span()
    for m in _SINGAPORE.finditer(folded):
        yield m.span()
    for m in _ANNOUNCED_PHONE.finditer(folded):
        yield m.span(1)


_KANJI = r"\u4e00-\u9fff々ヶ"      # place names are written in kanji: 住所は東京都… starts at 東
# On folded text: shapes that need no capital letters.
_ADDRESS = [
    # 〒160-0023 / 郵便番号 160-0023
    re.compile(r"(?:〒|郵便番号[:：]?)\s?\d{3}-?\d{4}(?![0-9])"),
    # 東京都新宿区西新宿2-8-1 / 大阪市北区梅田1丁目2番3号 (a place suffix first, so 5-3-2 in a sum is left alone)
    re.compile(rf"[{_KANJI}]{{0,15}}[都道府県市区町村郡][{_KANJI}\u30a0-\u30ff]{{0,10}}\d+(?:丁目|番地?|-)\d+(?:(?:番地?|号|-)\d+)?"
               rf"(?:号|番地?)?"),
    re.compile(r"\d+丁目(?:\d+番地?)?(?:\d+号)?|\d+番地(?:\d+号?)?"),
    # Blk 123 Ang Mo Kio Ave 3 #12-345 / #05-12 / Singapore 560123
    re.compile(r"(?<![a-z])(?:blk|block)\s*\d+[a-z]?(?:[^,.\n#]{0,40}#\d{1,3}-\d{1,5})?(?![0-9a-z])"),
    re.compile(r"#\d{1,3}-\d{2,5}(?![0-9])"),
    re.compile(r"(?<![a-z])singapore\s+\d{6}(?![0-9])"),
    # RT 03/RW 05
    re.compile(r"(?<![a-z])rt\.?\s*\d{1,3}\s*/\s*rw\.?\s*\d{1,3}"),
    # บ้านเลขที่ 12/3 หมู่ 4 ถนนสุขุมวิท / ซอย 5
    re.compile(r"(?:บ้านเลขที่|เลขที่)\s*\d+(?:/\d+)?(?:\s*(?:หมู่(?:ที่)?\s*\d+|(?:ถนน|ถ\.|ซอย|ซ\.)\s*\S+)){0,3}"),
    # ផ្ទះលេខ ១២ ផ្លូវលេខ ២៧១
    re.compile(r"ផ្ទះ(?:លេខ)?\s*\S+(?:\s*ផ្លូវ(?:លេខ)?\s*\S+)?"),
]
# On the original text: street names are capitalised, which tells "12 Orchard Road" from "3 blocks down the
# road" and "đường Lê Lợi" from "2 đường thẳng" (two straight lines).
_NAME = r"(?:[^\W\d_][\w'’.\-]*)"
_STREET_TYPES = (r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Drive|Dr\.?|Boulevard|Blvd\.?|Crescent|Close|"
                 r"Highway|Hwy\.?")
_CAPITALISED = [
    # 12 Orchard Road / 221B Baker Street
    re.compile(rf"(?<![\w])\d{{1,5}}[A-Za-z]?,?\s+((?:{_NAME}\s+){{1,4}}?)(?:{_STREET_TYPES})(?![\w])"),
    # Jalan Ampang 12 / Jl. Sudirman No. 5 / Jln Besar no 3
    re.compile(rf"(?<![\w])(?:Jalan|JALAN|Jln\.?|Jl\.)\s+((?:{_NAME}\s+){{1,4}}?)(?:[Nn]o\.?\s*)?\d+[A-Za-z]?(?![\w])"),
    # số 12 đường Lê Lợi / 34/5 phố Huế / ngõ 7 Tôn Thất Tùng
    re.compile(rf"(?<![\w])(?:[Ss]ố\s*(?:nhà\s*)?)?\d+[A-Za-z]?(?:/\d+)*,?\s*(?:[Đđ]ường|[Pp]hố|[Nn]gõ|[Hh]ẻm|[Kk]iệt)\s+"
               rf"((?:{_NAME}\s?){{1,4}})"),
]


def find_addresses(folded: str) -> Iterator[Span]:
    for pattern in _ADDRESS:
        for m in pattern.finditer(folded):
            yield m.span()


def find_capitalised_addresses(original: str) -> Iterator[Span]:
    """Spans in the original text (not the folded one): these shapes need the street name's capitals."""
    *before_number, name_last = _CAPITALISED
    for pattern in before_number:               # the name stands between number and street type: all capitalised
        for m in pattern.finditer(original):
            if all(w[0].isupper() for w in m.group(1).split()):
                yield m.span()
    for m in name_last.finditer(original):      # the name follows: keep its capitalised words, stop at the first other
        end = None
        for word in re.finditer(r"\S+", m.group(1)):
            if not word.group()[0].isupper():
                break
            end = m.start(1) + word.end()
        if end is not None:
            yield (m.start(), end)
