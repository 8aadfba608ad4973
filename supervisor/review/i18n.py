"""The review pages' words in English, Japanese, Thai and Vietnamese. Each user picks one (stored on the user).

One table, keyed by message id; a missing translation falls back to English, and a test keeps every language
complete. Untrusted text never passes through here: these strings are ours and are escaped like any other.
"""

from __future__ import annotations

from collections.abc import Callable

UI_LANGUAGES = {"en": "English", "ja": "日本語", "th": "ไทย", "vi": "Tiếng Việt"}
DEFAULT_LANG = "en"

# id: (en, ja, th, vi)
_TEXT: dict[str, tuple[str, str, str, str]] = {
    "title": ("Teacher review", "教員レビュー", "การตรวจทานของครู", "Giáo viên xem xét"),
    "sign_in": ("Sign in", "ログイン", "เข้าสู่ระบบ", "Đăng nhập"),
    "sign_out": ("Sign out", "ログアウト", "ออกจากระบบ", "Đăng xuất"),
    "username": ("User name", "ユーザー名", "ชื่อผู้ใช้", "Tên đăng nhập"),
    "password": ("Password", "パスワード", "รหัสผ่าน", "Mật khẩu"),
    "bad_login": ("Unknown user name or wrong password.", "ユーザー名またはパスワードが違います。",
                  "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "Sai tên đăng nhập hoặc mật khẩu."),
    "queue": ("Queue", "確認待ち一覧", "รายการรอตรวจ", "Danh sách cần xem"),
    "settings": ("Settings", "設定", "ตั้งค่า", "Cài đặt"),
    "suggestions": ("Suggested examples", "例文の提案", "ตัวอย่างที่เสนอ", "Ví dụ đề xuất"),
    "filters": ("Filters", "絞り込み", "ตัวกรอง", "Bộ lọc"),
    "any": ("any", "すべて", "ทั้งหมด", "tất cả"),
    "apply": ("Apply", "適用", "ใช้", "Áp dụng"),
    "clear": ("Clear", "解除", "ล้าง", "Xóa lọc"),
    "grade": ("Grade", "学年", "ชั้น", "Lớp"),
    "category": ("Category", "カテゴリ", "หมวด", "Danh mục"),
    "rule": ("Rule", "ルール", "กฎ", "Quy tắc"),
    "language": ("Language", "言語", "ภาษา", "Ngôn ngữ"),
    "from": ("From", "開始日", "ตั้งแต่", "Từ ngày"),
    "to": ("To", "終了日", "ถึง", "Đến ngày"),
    "status": ("Status", "状態", "สถานะ", "Trạng thái"),
    "decision": ("Decision", "判定", "ผลการตัดสิน", "Quyết định"),
    "school": ("School", "学校", "โรงเรียน", "Trường"),
    "time": ("Time", "日時", "เวลา", "Thời gian"),
    "student": ("Student", "児童生徒", "นักเรียน", "Học sinh"),
    "unknown_student": ("not given", "不明", "ไม่ระบุ", "không rõ"),
    "flagged_sentence": ("Flagged sentence", "該当した文", "ประโยคที่ถูกตรวจพบ", "Câu bị đánh dấu"),
    "status_unreviewed": ("unreviewed", "未確認", "ยังไม่ตรวจ", "chưa xem"),
    "status_confirmed": ("confirmed", "確認済み", "ยืนยันแล้ว", "đã xác nhận"),
    "status_overridden": ("overridden", "判定変更", "เปลี่ยนผลแล้ว", "đã thay đổi"),
    "decision_flag": ("flagged", "要確認", "ทำเครื่องหมาย", "gắn cờ"),
    "decision_rewrite": ("rewritten", "書き換え", "เขียนใหม่", "viết lại"),
    "decision_block": ("blocked", "ブロック", "บล็อก", "chặn"),
    "decision_pass": ("passed", "通過", "ผ่าน", "cho qua"),
    "confirm": ("Confirm", "判定は正しい", "ยืนยัน", "Xác nhận"),
    "confirm_shown": ("Confirm all shown", "表示中をすべて確認", "ยืนยันทั้งหมดที่แสดง", "Xác nhận tất cả"),
    "false_alarm": ("False alarm", "誤検知", "แจ้งเตือนผิด", "Báo động nhầm"),
    "missed": ("Harm was missed", "見逃しあり", "มีเนื้อหาที่พลาดไป", "Bỏ sót nội dung có hại"),
    "note": ("Note", "メモ", "บันทึก", "Ghi chú"),
    "add_note": ("Add note", "メモを追加", "เพิ่มบันทึก", "Thêm ghi chú"),
    "action_confirm": ("confirmed", "確認", "ยืนยัน", "xác nhận"),
    "action_override_false_alarm": ("false alarm", "誤検知", "แจ้งเตือนผิด", "báo động nhầm"),
    "action_override_missed": ("harm was missed", "見逃し", "พลาดไป", "bỏ sót"),
    "action_note": ("note", "メモ", "บันทึก", "ghi chú"),
    "all_rules": ("every rule that fired", "該当したすべてのルール", "ทุกกฎที่ตรวจพบ", "mọi quy tắc đã kích hoạt"),
    "which_rule": ("Which rule should have caught it", "どのルールで検出すべきだったか", "กฎที่ควรตรวจพบ",
                   "Quy tắc lẽ ra phải phát hiện"),
    "which_sentence": ("Which sentence", "どの文か", "ประโยคใด", "Câu nào"),
    "conversation": ("Conversation", "会話", "บทสนทนา", "Hội thoại"),
    "original": ("What the AI wrote", "AIの元の回答", "คำตอบเดิมของ AI", "Câu trả lời gốc của AI"),
    "delivered": ("What the student received", "児童生徒に届いた回答", "สิ่งที่นักเรียนได้รับ",
                  "Nội dung học sinh nhận được"),
    "same_as_original": ("the original, unchanged", "元の回答のまま", "คำตอบเดิมไม่เปลี่ยนแปลง", "giữ nguyên bản gốc"),
    "nothing_delivered": ("nothing", "なし", "ไม่มี", "không có"),
    "why": ("Why", "理由", "เหตุผล", "Lý do"),
    "source": ("Source", "出典", "ที่มา", "Nguồn"),
    "rule_gone": ("This rule is no longer in the curriculum.", "このルールは現在のカリキュラムにありません。",
                  "กฎนี้ไม่อยู่ในหลักสูตรปัจจุบันแล้ว", "Quy tắc này không còn trong chương trình."),
    "history": ("History", "履歴", "ประวัติ", "Lịch sử"),
    "no_history": ("Not reviewed yet.", "まだ確認されていません。", "ยังไม่มีการตรวจ", "Chưa được xem."),
    "next_item": ("Next", "次へ", "ถัดไป", "Tiếp"),
    "back": ("Back to the queue", "一覧に戻る", "กลับไปที่รายการ", "Quay lại danh sách"),
    "export_csv": ("Export CSV", "CSV出力", "ส่งออก CSV", "Xuất CSV"),
    "empty_queue": ("Nothing to review.", "確認するものはありません。", "ไม่มีรายการที่ต้องตรวจ",
                    "Không có gì cần xem."),
    "rule_rates": ("False alarms by rule", "ルール別の誤検知率", "อัตราแจ้งเตือนผิดตามกฎ", "Tỷ lệ báo nhầm theo quy tắc"),
    "fired": ("Fired", "検出", "ตรวจพบ", "Kích hoạt"),
    "reviewed": ("Reviewed", "確認済み", "ตรวจแล้ว", "Đã xem"),
    "false_alarms": ("False alarms", "誤検知", "แจ้งเตือนผิด", "Báo nhầm"),
    "rate": ("Rate", "率", "อัตรา", "Tỷ lệ"),
    "download_yaml": ("Download YAML for the ministry", "YAMLをダウンロード（教育委員会・省向け）",
                      "ดาวน์โหลด YAML สำหรับกระทรวง", "Tải YAML cho Bộ"),
    "suggestions_help": (
        "Each override suggests an example for its rule: a false alarm becomes a must-not-match example, a "
        "missed harm a must-match one. Check that no sentence identifies a student before sending.",
        "判定の変更はそれぞれルールの例文になります。誤検知は「一致してはならない例」、見逃しは「一致すべき例」です。"
        "送る前に、児童生徒を特定できる文がないか確認してください。",
        "การเปลี่ยนผลแต่ละครั้งจะเสนอเป็นตัวอย่างของกฎ แจ้งเตือนผิดเป็นตัวอย่างที่ต้องไม่ตรง ส่วนที่พลาดไปเป็นตัวอย่างที่ต้องตรง "
        "ตรวจสอบก่อนส่งว่าไม่มีประโยคใดระบุตัวนักเรียนได้",
        "Mỗi lần thay đổi quyết định sẽ đề xuất một ví dụ cho quy tắc: báo nhầm thành ví dụ không được khớp, bỏ "
        "sót thành ví dụ phải khớp. Hãy kiểm tra không câu nào làm lộ danh tính học sinh trước khi gửi."),
    "no_suggestions": ("No overrides yet.", "判定の変更はまだありません。", "ยังไม่มีการเปลี่ยนผล",
                       "Chưa có thay đổi nào."),
    "must_match": ("must match", "一致すべき例", "ต้องตรง", "phải khớp"),
    "must_not_match": ("must not match", "一致してはならない例", "ต้องไม่ตรง", "không được khớp"),
    "save": ("Save", "保存", "บันทึก", "Lưu"),
    "saved": ("Saved.", "保存しました。", "บันทึกแล้ว", "Đã lưu."),
    "ui_language": ("Language of these pages", "表示言語", "ภาษาของหน้านี้", "Ngôn ngữ giao diện"),
    "role": ("Role", "役割", "บทบาท", "Vai trò"),
    "role_teacher": ("teacher", "教員", "ครู", "giáo viên"),
    "role_admin": ("administrator", "管理者", "ผู้ดูแล", "quản trị"),
    "schools": ("Schools", "学校", "โรงเรียน", "Trường"),
    "keys_help": ("Keys: c confirm · f false alarm · n next · j/k move · o open",
                  "キー: c 確認 · f 誤検知 · n 次へ · j/k 移動 · o 開く",
                  "ปุ่มลัด: c ยืนยัน · f แจ้งเตือนผิด · n ถัดไป · j/k เลื่อน · o เปิด",
                  "Phím: c xác nhận · f báo nhầm · n tiếp · j/k di chuyển · o mở"),
    "forbidden": ("You do not have access to this page.", "このページを見る権限がありません。",
                  "คุณไม่มีสิทธิ์เข้าถึงหน้านี้", "Bạn không có quyền xem trang này."),
    "not_found": ("No such item in your schools.", "担当校にこの項目はありません。", "ไม่พบรายการนี้ในโรงเรียนของคุณ",
                  "Không có mục này trong trường của bạn."),
    "csrf_failed": ("This form expired. Go back, reload the page and try again.",
                    "フォームの有効期限が切れました。ページを再読み込みしてもう一度お試しください。",
                    "แบบฟอร์มหมดอายุ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
                    "Biểu mẫu đã hết hạn. Hãy tải lại trang và thử lại."),
    "bad_request": ("Something in this request needs fixing.", "入力内容に修正が必要です。", "คำขอนี้มีบางอย่างต้องแก้ไข",
                    "Yêu cầu này có điều cần sửa."),
    "locked": ("Too many failed sign-ins. Wait a few minutes, then try again.",
               "ログインの失敗が多すぎます。数分待ってからもう一度お試しください。",
               "เข้าสู่ระบบผิดหลายครั้งเกินไป กรุณารอสักครู่แล้วลองใหม่",
               "Đăng nhập sai quá nhiều lần. Hãy đợi vài phút rồi thử lại."),
    "disabled": ("This account is disabled. Ask your administrator.", "このアカウントは無効です。管理者に連絡してください。",
                 "บัญชีนี้ถูกปิดใช้งาน กรุณาติดต่อผู้ดูแล", "Tài khoản này đã bị vô hiệu hóa. Hãy hỏi quản trị viên."),
    "change_password": ("Change password", "パスワードの変更", "เปลี่ยนรหัสผ่าน", "Đổi mật khẩu"),
    "current_password": ("Current password", "現在のパスワード", "รหัสผ่านปัจจุบัน", "Mật khẩu hiện tại"),
    "new_password": ("New password", "新しいパスワード", "รหัสผ่านใหม่", "Mật khẩu mới"),
    "password_changed": ("Password changed. Every other session was signed out.",
                         "パスワードを変更しました。ほかのセッションはすべてログアウトしました。",
                         "เปลี่ยนรหัสผ่านแล้ว เซสชันอื่นทั้งหมดถูกออกจากระบบ",
                         "Đã đổi mật khẩu. Mọi phiên khác đã bị đăng xuất."),
    "role_user": ("Student", "児童生徒", "นักเรียน", "Học sinh"),
    "role_assistant": ("AI", "AI", "AI", "AI"),
    "role_system": ("App instructions", "アプリの指示", "คำสั่งของแอป", "Chỉ dẫn của ứng dụng"),
    "of": ("of", "件中", "จาก", "trên"),
    "page_newer": ("Newer", "新しい順に戻る", "ใหม่กว่า", "Mới hơn"),
    "page_older": ("Older", "さらに古い", "เก่ากว่า", "Cũ hơn"),
}


def translator(lang: str) -> Callable[[str], str]:
    column = list(UI_LANGUAGES).index(lang) if lang in UI_LANGUAGES else 0

    def t(key: str) -> str:
        row = _TEXT.get(key)
        if row is None:
            return key
        return row[column] or row[0]

    return t


def best_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header (for the sign-in page)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in UI_LANGUAGES:
            return code
    return DEFAULT_LANG


def missing_translations() -> list[str]:
    return [f"{key}:{lang}" for key, row in _TEXT.items() for lang, text in zip(UI_LANGUAGES, row, strict=True)
            if not text]
