"""The safeguarding alert e-mail's words in every served language (alerts.py writes the e-mail).

The school's first language (`languages:` in policies/schools.yaml) leads; when that is not English the
English text follows, for the IT staff and any reader the school shares the alert with. A test keeps every
language complete.
"""

from __future__ import annotations

# key: (en, id, ja, km, lo, ms, my, ta, th, tl, vi, zh, tet, pt)
_ORDER = ("en", "id", "ja", "km", "lo", "ms", "my", "ta", "th", "tl", "vi", "zh", "tet", "pt")
_TEXT: dict[str, tuple[str, ...]] = {
    "subject": ("Safeguarding", "Perlindungan siswa", "安全確保", "ការការពារសិស្ស", "ການປົກປ້ອງນັກຮຽນ",
                "Perlindungan murid", "ကျောင်းသား ကာကွယ်ရေး", "மாணவர் பாதுகாப்பு", "การคุ้มครองนักเรียน",
                "Pangangalaga sa mag-aaral", "Bảo vệ học sinh", "学生安全保护",
                "Protesaun estudante", "Proteção de alunos"),
    "intro": (
        "The supervisor found a safeguarding concern in a student's conversation.",
        "Supervisor menemukan kekhawatiran terkait keselamatan dalam percakapan seorang siswa.",
        "スーパーバイザーが児童生徒の会話に安全上の懸念を検出しました。",
        "ប្រព័ន្ធត្រួតពិនិត្យបានរកឃើញកង្វល់ពីសុវត្ថិភាពនៅក្នុងការសន្ទនារបស់សិស្សម្នាក់។",
        "ລະບົບກວດກາພົບຄວາມກັງວົນດ້ານຄວາມປອດໄພໃນການສົນທະນາຂອງນັກຮຽນຄົນໜຶ່ງ.",
        "Penyelia menemui kebimbangan keselamatan dalam perbualan seorang murid.",
        "ကျောင်းသားတစ်ဦး၏ စကားဝိုင်းတွင် ဘေးကင်းရေးဆိုင်ရာ စိုးရိမ်စရာကို စစ်ဆေးစနစ်က တွေ့ရှိခဲ့သည်။",
        "ஒரு மாணவரின் உரையாடலில் பாதுகாப்பு தொடர்பான கவலையைக் கண்காணிப்பு அமைப்பு கண்டறிந்துள்ளது.",
        "ระบบตรวจสอบพบข้อกังวลด้านความปลอดภัยในบทสนทนาของนักเรียนคนหนึ่ง",
        "Nakakita ang supervisor ng alalahanin sa kaligtasan sa usapan ng isang mag-aaral.",
        "Hệ thống giám sát phát hiện một mối lo ngại về an toàn trong cuộc trò chuyện của một học sinh.",
        "监督系统在一名学生的对话中发现了安全隐患。",
        "Sistema supervizaun hetan preokupasaun kona-ba seguransa iha estudante ida nia konversa.",
        "O supervisor detetou uma preocupação de proteção na conversa de um aluno."),
    "school": ("School", "Sekolah", "学校", "សាលា", "ໂຮງຮຽນ", "Sekolah", "ကျောင်း", "பள்ளி", "โรงเรียน", "Paaralan",
               "Trường", "学校",
               "Eskola", "Escola"),
    "student": ("Student", "Siswa", "児童生徒", "សិស្ស", "ນັກຮຽນ", "Murid", "ကျောင်းသား", "மாணவர்", "นักเรียน",
                "Mag-aaral", "Học sinh", "学生",
                "Estudante", "Aluno"),
    "pseudonym": ("pseudonym", "nama samaran", "仮名ID", "ឈ្មោះក្លែង", "ນາມແຝງ", "nama samaran", "ကိုယ်ပိုင်အမှတ်အသား",
                  "புனைபெயர்", "นามแฝง", "sagisag", "bí danh", "化名",
                  "pseudónimu", "pseudónimo"),
    "no_student": ("not identified by the app", "tidak diidentifikasi oleh aplikasi", "アプリから識別情報なし",
                   "កម្មវិធីមិនបានកំណត់អត្តសញ្ញាណ", "ແອັບບໍ່ໄດ້ລະບຸຕົວຕົນ", "tidak dikenal pasti oleh aplikasi",
                   "အက်ပ်က မဖော်ပြထားပါ", "செயலி அடையாளம் தரவில்லை", "แอปไม่ได้ระบุตัวตน",
                   "hindi tinukoy ng app", "ứng dụng không cung cấp", "应用未提供身份标识",
                   "aplikasaun la identifika", "não identificado pela aplicação"),
    "grade": ("Grade", "Kelas", "学年", "ថ្នាក់", "ຊັ້ນ", "Tahun", "အတန်း", "வகுப்பு", "ชั้น", "Baitang", "Lớp", "年级",
              "Klase", "Ano"),
    "category": ("Category", "Kategori", "カテゴリ", "ប្រភេទ", "ປະເພດ", "Kategori", "အမျိုးအစား", "வகை", "หมวด",
                 "Kategorya", "Danh mục", "类别",
                 "Kategoria", "Categoria"),
    "decision": ("Decision", "Keputusan", "判定", "ការសម្រេច", "ການຕັດສິນ", "Keputusan", "ဆုံးဖြတ်ချက်", "முடிவு",
                 "ผลการตัดสิน", "Pasya", "Quyết định", "处理结果",
                 "Desizaun", "Decisão"),
    "rules": ("Rules", "Aturan", "ルール", "ច្បាប់", "ກົດ", "Peraturan", "စည်းမျဉ်းများ", "விதிகள்", "กฎ", "Mga tuntunin",
              "Quy tắc", "规则",
              "Regra sira", "Regras"),
    "open": (
        "Open the review page (sign-in required) to see what was said:",
        "Buka halaman tinjauan (perlu masuk) untuk melihat isi percakapan:",
        "内容を確認するにはレビューページを開いてください（ログインが必要です）:",
        "បើកទំព័រពិនិត្យ (ត្រូវចូលគណនី) ដើម្បីមើលអ្វីដែលបាននិយាយ៖",
        "ເປີດໜ້າກວດສອບ (ຕ້ອງເຂົ້າສູ່ລະບົບ) ເພື່ອເບິ່ງສິ່ງທີ່ເວົ້າ:",
        "Buka halaman semakan (perlu log masuk) untuk melihat apa yang dikatakan:",
        "ပြောဆိုခဲ့သည်များကို ကြည့်ရန် စစ်ဆေးရေးစာမျက်နှာကို ဖွင့်ပါ (အကောင့်ဝင်ရန် လိုအပ်သည်)-",
        "என்ன சொல்லப்பட்டது என்பதைப் பார்க்க மதிப்பாய்வுப் பக்கத்தைத் திறக்கவும் (உள்நுழைவு தேவை):",
        "เปิดหน้าตรวจทาน (ต้องเข้าสู่ระบบ) เพื่อดูว่ามีการพูดอะไร:",
        "Buksan ang pahina ng pagsusuri (kailangang mag-sign in) para makita ang sinabi:",
        "Mở trang xem xét (cần đăng nhập) để xem nội dung:",
        "请打开审核页面（需要登录）查看对话内容：",
        "Loke pájina revizaun (presiza tama) atu haree saida mak hatete:",
        "Abra a página de revisão (requer início de sessão) para ver o que foi dito:"),
    "footer": (
        "This message holds no conversation text on purpose.",
        "Pesan ini sengaja tidak memuat isi percakapan.",
        "このメッセージには意図的に会話の内容を含めていません。",
        "សារនេះមិនមានអត្ថបទនៃការសន្ទនាដោយចេតនា។",
        "ຂໍ້ຄວາມນີ້ບໍ່ມີເນື້ອໃນການສົນທະນາໂດຍເຈດຕະນາ.",
        "Mesej ini sengaja tidak mengandungi teks perbualan.",
        "ဤစာတွင် စကားဝိုင်းစာသားကို ရည်ရွယ်ချက်ရှိရှိ မထည့်ထားပါ။",
        "இந்தச் செய்தியில் உரையாடலின் உரை வேண்டுமென்றே சேர்க்கப்படவில்லை.",
        "ข้อความนี้ตั้งใจไม่ใส่เนื้อหาบทสนทนา",
        "Sadyang walang teksto ng usapan ang mensaheng ito.",
        "Thư này cố ý không chứa nội dung cuộc trò chuyện.",
        "本邮件有意不包含对话内容。",
        "Mensajen ida-ne'e la inklui testu husi konversa ho intensaun.",
        "Esta mensagem não contém, propositadamente, o texto da conversa."),
    "decision_flag": ("flagged", "ditandai", "要確認", "បានសម្គាល់", "ໝາຍໄວ້", "ditanda", "အမှတ်အသားပြု",
                      "குறிக்கப்பட்டது", "ทำเครื่องหมาย", "minarkahan", "gắn cờ", "已标记",
                      "marka ona", "assinalado"),
    "decision_rewrite": ("rewritten", "ditulis ulang", "書き換え", "បានសរសេរឡើងវិញ", "ຂຽນໃໝ່", "ditulis semula",
                         "ပြန်ရေးထား", "மாற்றி எழுதப்பட்டது", "เขียนใหม่", "isinulat muli", "viết lại", "已改写",
                         "hakerek fali", "reescrito"),
    "decision_block": ("blocked", "diblokir", "ブロック", "បានរារាំង", "ບລັອກ", "disekat", "ပိတ်ဆို့ထား",
                       "தடுக்கப்பட்டது", "บล็อก", "hinarang", "chặn", "已拦截",
                       "bloku ona", "bloqueado"),
    "decision_pass": ("passed", "diloloskan", "通過", "បានអនុញ្ញាត", "ຜ່ານ", "diluluskan", "ခွင့်ပြု", "அனுமதிக்கப்பட்டது",
                      "ผ่าน", "pinayagan", "cho qua", "已放行",
                      "husik liu", "permitido"),
}
TEXT: dict[str, dict[str, str]] = {key: dict(zip(_ORDER, row, strict=True)) for key, row in _TEXT.items()}


def words(lang: str | None):
    """`w(key)`: the text in `lang`, else English."""
    def w(key: str) -> str:
        row = TEXT[key]
        return row.get(lang or "en") or row["en"]
    return w
