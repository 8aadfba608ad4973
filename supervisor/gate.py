"""Access gates decided before anything is asked upstream: the policy's minimum age, and exam windows in
which a school (or some of its classes) switches answer content off. Pure: the caller passes the time.

A gated request gets a refusal the student understands, in their language, as the answer (decision
`block`, rule `policy.min-age` or `policy.exam-window`, finish_reason `content_filter`); nothing goes to the
upstream model, and the exchange is recorded with status `refused`.

The student's age is the request's (`X-Supervisor-Age` header or `metadata.age`), else the youngest age usual
for the grade (grade + 5), which errs on the protective side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .checks.base import Finding
from .errors import ConfigError, Problem

AGE_RULE = "policy.min-age"
EXAM_RULE = "policy.exam-window"

AGE_MESSAGES = {
    "en": "Sorry, this assistant is not available for students of your age at your school. Please ask your teacher.",
    "ja": "ごめんなさい。あなたの学校では、この年齢の児童・生徒はこのAIアシスタントを使えません。先生に聞いてください。",
    "th": "ขออภัย ผู้ช่วยนี้ยังไม่เปิดให้นักเรียนในช่วงอายุของคุณใช้ที่โรงเรียน กรุณาถามคุณครู",
    "vi": "Xin lỗi, trợ lý này chưa dành cho học sinh ở độ tuổi của em tại trường. Em hãy hỏi thầy cô nhé.",
    "id": "Maaf, asisten ini belum tersedia untuk siswa seusiamu di sekolahmu. Silakan bertanya kepada gurumu.",
    "ms": "Maaf, pembantu ini belum tersedia untuk murid seusia anda di sekolah anda. Sila tanya guru anda.",
    "tl": "Paumanhin, hindi pa magagamit ng mga mag-aaral na kasing-edad mo ang assistant na ito sa inyong "
          "paaralan. Magtanong sa iyong guro.",
    "km": "សូមអភ័យទោស ជំនួយការនេះមិនទាន់អាចប្រើបានសម្រាប់សិស្សក្នុងអាយុរបស់អ្នកនៅសាលារបស់អ្នកទេ។ សូមសួរគ្រូរបស់អ្នក។",
    "zh": "抱歉，你所在的学校暂不向你这个年龄的学生开放此助手。请向老师求助。",
    "lo": "ຂໍອະໄພ, ຜູ້ຊ່ວຍນີ້ຍັງບໍ່ເປີດໃຫ້ນັກຮຽນໃນໄວຂອງເຈົ້າໃຊ້ຢູ່ໂຮງຮຽນ. ກະລຸນາຖາມຄູຂອງເຈົ້າ.",
    "my": "တောင်းပန်ပါသည်၊ ဤအကူအညီပေးစနစ်ကို သင့်ကျောင်းတွင် သင့်အရွယ် ကျောင်းသားများ အသုံးမပြုနိုင်သေးပါ။ ဆရာ/ဆရာမကို မေးပါ။",
    "ta": "மன்னிக்கவும், உங்கள் பள்ளியில் உங்கள் வயது மாணவர்களுக்கு இந்த உதவியாளர் இன்னும் கிடைக்கவில்லை. "
          "உங்கள் ஆசிரியரிடம் கேளுங்கள்.",
    "tet": "Deskulpa, asistente ne'e seidauk bele uza ba estudante ho idade hanesan ó iha ó-nia eskola. Favor husu ó-nia "
           "profesór.",
    "pt": "Desculpa, este assistente ainda não está disponível para alunos da tua idade na tua escola. Pergunta ao "
          "teu professor.",
}
EXAM_MESSAGES = {
    "en": "Answers are switched off during the exam (until {until}). Good luck!",
    "ja": "試験中のため、{until}まで回答は停止しています。がんばってください！",
    "th": "ระหว่างการสอบ ระบบปิดการตอบคำถามไว้จนถึง {until} ขอให้โชคดี!",
    "vi": "Trong giờ kiểm tra, chức năng trả lời tạm tắt đến {until}. Chúc em làm bài tốt!",
    "id": "Selama ujian, jawaban dimatikan sampai {until}. Semoga sukses!",
    "ms": "Sepanjang peperiksaan, jawapan dimatikan sehingga {until}. Semoga berjaya!",
    "tl": "Habang may pagsusulit, naka-off ang mga sagot hanggang {until}. Good luck!",
    "km": "ក្នុងពេលប្រឡង ការឆ្លើយត្រូវបានបិទរហូតដល់ {until}។ សូមសំណាងល្អ!",
    "zh": "考试期间，回答功能暂停至 {until}。祝你考试顺利！",
    "lo": "ໃນລະຫວ່າງການສອບເສັງ, ການຕອບຖືກປິດໄວ້ຈົນຮອດ {until}. ຂໍໃຫ້ໂຊກດີ!",
    "my": "စာမေးပွဲကာလအတွင်း {until} အထိ အဖြေများကို ပိတ်ထားပါသည်။ ကံကောင်းပါစေ!",
    "ta": "தேர்வு நேரத்தில் {until} வரை பதில்கள் நிறுத்தப்பட்டுள்ளன. வாழ்த்துகள்!",
    "tet": "Durante ezame, resposta sira taka to'o {until}. Susesu!",
    "pt": "Durante o exame, as respostas estão desligadas até {until}. Boa sorte!",
}


@dataclass(frozen=True)
class ExamWindow:
    start: datetime
    end: datetime
    classes: tuple[str, ...] = ()         # empty: the whole school

    def covers(self, at: datetime, class_id: str | None) -> bool:
        return self.start <= at < self.end and (not self.classes or class_id in self.classes)


@dataclass(frozen=True)
class Refusal:
    rule: str
    reason: str            # for the record and the logs (English)
    message: str           # for the student (their language)

    def finding(self) -> Finding:
        return Finding(rule_id=self.rule, category="policy", severity="high", stage="policy", score=1.0,
                       target="user", span=(0, 0), sentence="", evidence=self.reason)


def _message(table: dict[str, str], lang: str | None, fallback: tuple[str, ...]) -> str:
    for candidate in (lang, *fallback, "en"):
        if candidate in table:
            return table[candidate]
    return table["en"]


def check_gates(*, min_age: int | None, exam_windows: tuple[ExamWindow, ...], age: int | None, grade: int,
                class_id: str | None, at: datetime, lang: str | None, languages: tuple[str, ...] = ()) -> Refusal | None:
    if min_age is not None:
        student_age = age if age is not None else grade + 5
        if student_age < min_age:
            source = "stated" if age is not None else f"estimated from grade {grade}"
            return Refusal(AGE_RULE, f"age {student_age} ({source}) is below the policy's min_age {min_age}",
                           _message(AGE_MESSAGES, lang, languages))
    for window in exam_windows:
        if window.covers(at, class_id):
            until = window.end.strftime("%Y-%m-%d %H:%M")
            who = f"class {class_id}" if window.classes else "the whole school"
            return Refusal(EXAM_RULE, f"exam window {window.start.isoformat()} to {window.end.isoformat()} for {who}",
                           _message(EXAM_MESSAGES, lang, languages).format(until=until))
    return None


def parse_window(raw: dict, where: str, line: int | None) -> ExamWindow:
    """One `exam_windows` item from schools.yaml; times need a time zone (a school's 09:00 is local)."""
    times = []
    for key in ("start", "end"):
        value = raw[key]
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ConfigError(Problem(where, line, f"exam_windows.{key}: {value!r} is not a date and time "
                                                   "(write e.g. 2025-03-10T09:00:00+09:00)")) from exc
        if moment.tzinfo is None:
            raise ConfigError(Problem(where, line, f"exam_windows.{key}: {value} has no time zone; add one, "
                                                   "e.g. +09:00, so the window means the school's local time"))
        times.append(moment)
    if times[1] <= times[0]:
        raise ConfigError(Problem(where, line, "exam_windows: end must be after start"))
    return ExamWindow(times[0], times[1], tuple(str(c) for c in raw.get("classes") or ()))
