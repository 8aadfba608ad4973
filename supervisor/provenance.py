"""Provenance of every answer: a machine-readable AI disclosure, and a signature an outsider can check.

Headers on every supervised answer (and the same values in the body's `supervisor` object, so a saved body
alone, or a stream's final chunk, carries them too):

    X-Supervisor-AI-Disclosure: generated-by=ai; model=openai%2Fgpt-4o-mini; supervised-by=edu-supervisor;
                                decision=rewrite; modified=true; human-review=none; label=false
    X-Supervisor-Signature: v=1; kid=3f2a…; t=2025-01-31T09:00:00.000000+00:00; rid=req-…; d=pass;
                            c=jp%402024.1; h=<sha256 hex of the delivered text, UTF-8>; sig=<base64url>

`sig` is Ed25519 over a domain line and the canonical JSON of {v, kid, t, rid, d, c, h}; the public key is at
`/.well-known/supervisor-keys.json`. Values are percent-encoded. `generated-by` is `supervisor` when the
student got the supervisor's own refusal rather than model text.

A saved response (what `supervisor verify-response FILE` reads) is JSON: {"headers": {...}, "body": ...},
where body is the chat.completion object, or the raw text of an SSE stream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from .signing import RESPONSE_DOMAIN, PublicKey, Signer

SIGNATURE_HEADER = "X-Supervisor-Signature"
DISCLOSURE_HEADER = "X-Supervisor-AI-Disclosure"
_SIGNED_FIELDS = ("v", "kid", "t", "rid", "d", "c", "h")
# A stream's headers leave before its decision is known; its last chunk carries the decision and signature.
STREAMING = ("x-supervisor-decision", "streaming")

AI_LABELS = {
    "en": "AI-generated answer, checked by your school's supervisor.",
    "ja": "この回答はAIが作成し、学校の監督システムが確認しました。",
    "th": "คำตอบนี้สร้างโดย AI และผ่านการตรวจสอบโดยระบบของโรงเรียน",
    "vi": "Câu trả lời này do AI tạo ra và đã được hệ thống của nhà trường kiểm tra.",
    "id": "Jawaban ini dibuat oleh AI dan telah diperiksa oleh sistem pengawas sekolah.",
    "ms": "Jawapan ini dijana oleh AI dan telah disemak oleh sistem penyelia sekolah.",
    "tl": "Ang sagot na ito ay gawa ng AI at sinuri ng sistema ng paaralan.",
    "km": "ចម្លើយនេះបង្កើតដោយ AI ហើយត្រូវបានពិនិត្យដោយប្រព័ន្ធរបស់សាលា។",
    "zh": "此回答由人工智能生成，并经学校监督系统检查。",
    "lo": "ຄຳຕອບນີ້ສ້າງໂດຍ AI ແລະ ໄດ້ຮັບການກວດສອບໂດຍລະບົບຂອງໂຮງຮຽນ.",
    "my": "ဤအဖြေကို AI က ဖန်တီးပြီး ကျောင်း၏စနစ်က စစ်ဆေးထားသည်။",
    "ta": "இந்த பதில் AI ஆல் உருவாக்கப்பட்டது; பள்ளியின் மேற்பார்வை அமைப்பு சரிபார்த்தது.",
    "tet": "Resposta ne'e AI mak halo, no eskola nia sistema supervizaun mak verifika ona.",
    "pt": "Esta resposta foi gerada por IA e verificada pelo sistema de supervisão da escola.",
}


def with_ai_label(text: str, lang: str | None) -> str:
    """The policy's visible label (`privacy.ai_label: true`), in the student's language, under the answer."""
    return f"{text}\n\n— {AI_LABELS.get(lang or 'en', AI_LABELS['en'])}"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fields(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name.strip()] = unquote(value.strip())
    return out


def _format(values: dict[str, str]) -> str:
    return "; ".join(f"{k}={quote(str(v), safe='')}" for k, v in values.items())


def _message(claims: dict[str, str]) -> bytes:
    return json.dumps({k: claims[k] for k in _SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def disclosure(decision: str, model: str, ai_label: bool) -> str:
    ai = decision != "block"
    return _format({"generated-by": "ai" if ai else "supervisor", "model": model,
                    "supervised-by": "edu-supervisor", "decision": decision,
                    "modified": str(decision in ("rewrite", "block")).lower(),
                    "human-review": "pending" if decision == "flag" else "none",
                    "label": str(ai_label and ai).lower()})


def sign_response(signer: Signer, *, text: str, decision: str, curriculum: str, request_id: str,
                  at: datetime | None = None) -> str:
    claims = {"v": "1", "kid": signer.key_id,
              "t": (at or datetime.now(UTC)).isoformat(timespec="microseconds"),
              "rid": request_id, "d": decision, "c": curriculum, "h": text_digest(text)}
    return _format({**claims, "sig": signer.sign(RESPONSE_DOMAIN, _message(claims))})


@dataclass
class ResponseCheck:
    ok: bool
    claims: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def delivered_text(body) -> tuple[str, dict]:
    """(the text the student got, the body's `supervisor` object) from a saved chat.completion or SSE stream."""
    if isinstance(body, dict):
        return body["choices"][0]["message"]["content"] or "", body.get("supervisor") or {}
    text, block = [], {}
    for line in str(body).splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        chunk = json.loads(line[5:])
        for choice in chunk.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
        block = chunk.get("supervisor") or block
    return "".join(text), block


def verify_response(saved: dict, keys: dict[str, PublicKey]) -> ResponseCheck:
    headers = {k.lower(): v for k, v in (saved.get("headers") or {}).items()}
    try:
        text, block = delivered_text(saved["body"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return ResponseCheck(False, problems=[f"the saved body is neither a chat.completion nor an SSE stream: {exc}"])
    header = headers.get(SIGNATURE_HEADER.lower()) or block.get("signature")
    if not header:
        return ResponseCheck(False, problems=[f"no {SIGNATURE_HEADER} header and no supervisor.signature in the body"])
    claims = _fields(header)
    missing = [k for k in (*_SIGNED_FIELDS, "sig") if k not in claims]
    if missing:
        return ResponseCheck(False, claims, [f"the signature lacks {', '.join(missing)}"])
    check = ResponseCheck(True, claims)
    key = keys.get(claims["kid"])
    if key is None:
        check.problems.append(f"signed by unknown key {claims['kid']} (known: {', '.join(keys) or 'none'})")
    elif not key.verify(RESPONSE_DOMAIN, _message(claims), claims["sig"]):
        check.problems.append("bad signature: the signed fields were changed, or another key signed them")
    if text_digest(text) != claims["h"]:
        check.problems.append("the delivered text differs from the text that was signed")
    for name, claim in (("x-supervisor-decision", "d"), ("x-supervisor-curriculum", "c"), ("x-request-id", "rid")):
        if name in headers and headers[name] != claims[claim] and (name, headers[name]) != STREAMING:
            check.problems.append(f"header {name} is {headers[name]!r} but the signature says {claims[claim]!r}")
    for name, claim in (("decision", "d"), ("curriculum", "c"), ("request_id", "rid")):
        if name in block and block[name] != claims[claim]:
            check.problems.append(f"body supervisor.{name} is {block[name]!r} but the signature says {claims[claim]!r}")
    check.ok = not check.problems
    return check
