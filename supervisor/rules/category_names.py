"""What each rule category is called in every served language, for teachers and alert e-mails.

The ids (`self_harm`, `crisis_support`, ...) are the schema's and stay in records, filters and YAML; people
read these names. A test keeps the table complete for every category in `schema.CATEGORIES` and every
language in `schema.LANGUAGES`.
"""

from __future__ import annotations

# category: {lang: name}; languages in the order en, id, ja, km, lo, ms, my, ta, th, tl, vi, zh, tet, pt
_ORDER = ("en", "id", "ja", "km", "lo", "ms", "my", "ta", "th", "tl", "vi", "zh", "tet", "pt")
_NAMES: dict[str, tuple[str, ...]] = {
    "self_harm": ("Self-harm and suicide", "Menyakiti diri dan bunuh diri", "自傷・自殺",
                  "ការធ្វើបាបខ្លួនឯង និងការធ្វើអត្តឃាត", "ການທຳຮ້າຍຕົນເອງ ແລະ ການຂ້າຕົວຕາຍ",
                  "Mencederakan diri dan bunuh diri", "ကိုယ့်ကိုယ်ကို ထိခိုက်စေခြင်းနှင့် သတ်သေခြင်း",
                  "சுய தீங்கு மற்றும் தற்கொலை", "การทำร้ายตนเองและการฆ่าตัวตาย",
                  "Pananakit sa sarili at pagpapakamatay", "Tự gây hại và tự tử", "自残与自杀",
                  "Hakanek an no oho an", "Automutilação e suicídio"),
    "crisis_support": ("Student in crisis", "Siswa dalam krisis", "危機にある児童生徒", "សិស្សដែលកំពុងមានវិបត្តិ",
                       "ນັກຮຽນທີ່ຢູ່ໃນພາວະວິກິດ", "Murid dalam krisis", "အကျပ်အတည်းကြုံနေသော ကျောင်းသား",
                       "நெருக்கடியில் உள்ள மாணவர்", "นักเรียนที่อยู่ในภาวะวิกฤต", "Mag-aaral na nasa krisis",
                       "Học sinh gặp khủng hoảng", "处于危机中的学生",
                       "Estudante iha krize", "Aluno em crise"),
    "violence_weapons": ("Violence and weapons", "Kekerasan dan senjata", "暴力・武器", "អំពើហិង្សា និងអាវុធ",
                         "ຄວາມຮຸນແຮງ ແລະ ອາວຸດ", "Keganasan dan senjata", "အကြမ်းဖက်မှုနှင့် လက်နက်",
                         "வன்முறை மற்றும் ஆயுதங்கள்", "ความรุนแรงและอาวุธ", "Karahasan at armas",
                         "Bạo lực và vũ khí", "暴力与武器",
                         "Violénsia no arma", "Violência e armas"),
    "sexual_content": ("Sexual content", "Konten seksual", "性的な内容", "ខ្លឹមសារផ្លូវភេទ", "ເນື້ອຫາທາງເພດ",
                       "Kandungan seksual", "လိင်ပိုင်းဆိုင်ရာ အကြောင်းအရာ", "பாலியல் உள்ளடக்கம்", "เนื้อหาทางเพศ",
                       "Sekswal na nilalaman", "Nội dung tình dục", "色情内容",
                       "Konteúdu seksuál", "Conteúdo sexual"),
    "drugs_alcohol": ("Drugs, alcohol and tobacco", "Narkoba, alkohol, dan rokok", "薬物・飲酒・喫煙",
                      "គ្រឿងញៀន គ្រឿងស្រវឹង និងថ្នាំជក់", "ຢາເສບຕິດ ເຫຼົ້າ ແລະ ຢາສູບ", "Dadah, alkohol dan tembakau",
                      "မူးယစ်ဆေးဝါး၊ အရက်နှင့် ဆေးလိပ်", "போதைப்பொருள், மது மற்றும் புகையிலை",
                      "ยาเสพติด แอลกอฮอล์ และยาสูบ", "Droga, alak at tabako", "Ma túy, rượu bia và thuốc lá",
                      "毒品、酒精与烟草",
                      "Droga, álkool no tabaku", "Drogas, álcool e tabaco"),
    "gambling": ("Gambling", "Perjudian", "ギャンブル", "ល្បែងស៊ីសង", "ການພະນັນ", "Perjudian", "လောင်းကစား",
                 "சூதாட்டம்", "การพนัน", "Pagsusugal", "Cờ bạc", "赌博",
                 "Jogu osan", "Jogos de azar"),
    "hate_harassment": ("Hate and bullying", "Kebencian dan perundungan", "差別・いじめ", "ការស្អប់ និងការសម្លុត",
                        "ຄວາມກຽດຊັງ ແລະ ການຂົ່ມເຫັງ", "Kebencian dan buli", "အမုန်းစကားနှင့် အနိုင်ကျင့်ခြင်း",
                        "வெறுப்பு மற்றும் கொடுமைப்படுத்துதல்", "ความเกลียดชังและการกลั่นแกล้ง",
                        "Pagkamuhi at pambu-bully", "Thù ghét và bắt nạt", "仇恨与霸凌",
                        "Ódiu no bullying", "Ódio e bullying"),
    "dangerous_activity": ("Dangerous activities", "Kegiatan berbahaya", "危険な行為", "សកម្មភាពគ្រោះថ្នាក់",
                           "ກິດຈະກຳທີ່ອັນຕະລາຍ", "Aktiviti berbahaya", "အန္တရာယ်ရှိသော လုပ်ရပ်များ",
                           "ஆபத்தான செயல்கள்", "กิจกรรมที่เป็นอันตราย", "Mapanganib na gawain",
                           "Hoạt động nguy hiểm", "危险行为",
                           "Atividade perigozu", "Atividades perigosas"),
    "personal_data": ("Personal data and grooming", "Data pribadi dan grooming", "個人情報・グルーミング",
                      "ទិន្នន័យផ្ទាល់ខ្លួន និងការល្បួងកុមារ", "ຂໍ້ມູນສ່ວນຕົວ ແລະ ການລໍ້ລວງເດັກ",
                      "Data peribadi dan dandanan seksual (grooming)", "ကိုယ်ရေးအချက်အလက်နှင့် ကလေးကို ဆွဲဆောင်ခြင်း",
                      "தனிப்பட்ட தகவல் மற்றும் குழந்தைகளை ஏமாற்றி வசப்படுத்துதல்", "ข้อมูลส่วนตัวและการล่อลวงเด็ก",
                      "Personal na impormasyon at grooming", "Dữ liệu cá nhân và dụ dỗ trẻ em",
                      "个人信息与诱骗儿童",
                      "Dadus pesoál no bosok-bosok labarik (grooming)", "Dados pessoais e aliciamento de menores"),
    "extremism": ("Violent extremism", "Ekstremisme kekerasan", "暴力的過激主義", "អំពើជ្រុលនិយមហិង្សា",
                  "ລັດທິຫົວຮຸນແຮງ", "Ekstremisme ganas", "အကြမ်းဖက် အစွန်းရောက်ဝါဒ", "வன்முறைத் தீவிரவாதம்",
                  "แนวคิดสุดโต่งที่ใช้ความรุนแรง", "Marahas na ekstremismo", "Chủ nghĩa cực đoan bạo lực",
                  "暴力极端主义",
                  "Ekstremizmu violentu", "Extremismo violento"),
    "crime_fraud": ("Crime and fraud", "Kejahatan dan penipuan", "犯罪・詐欺", "ឧក្រិដ្ឋកម្ម និងការក្លែងបន្លំ",
                    "ອາຊະຍາກຳ ແລະ ການສໍ້ໂກງ", "Jenayah dan penipuan", "ရာဇဝတ်မှုနှင့် လိမ်လည်မှု",
                    "குற்றம் மற்றும் மோசடி", "อาชญากรรมและการฉ้อโกง", "Krimen at panloloko",
                    "Tội phạm và lừa đảo", "犯罪与欺诈",
                    "Krime no fraude", "Crime e fraude"),
    "misinformation": ("Misinformation", "Misinformasi", "誤情報", "ព័ត៌មានមិនពិត", "ຂໍ້ມູນທີ່ບໍ່ຖືກຕ້ອງ",
                       "Maklumat palsu", "မှားယွင်းသော သတင်းအချက်အလက်", "தவறான தகவல்", "ข้อมูลเท็จ",
                       "Maling impormasyon", "Thông tin sai lệch", "虚假信息",
                       "Informasaun sala", "Desinformação"),
    "academic_integrity": ("Academic honesty", "Kejujuran akademik", "学習の誠実さ（不正行為）",
                           "ភាពស្មោះត្រង់ក្នុងការសិក្សា", "ຄວາມຊື່ສັດທາງວິຊາການ", "Integriti akademik",
                           "ပညာရေးဆိုင်ရာ ရိုးသားမှု", "கல்வி நேர்மை", "ความซื่อสัตย์ทางวิชาการ",
                           "Katapatang akademiko", "Trung thực trong học tập", "学术诚信",
                           "Onestidade akadémika", "Honestidade académica"),
    "age_appropriateness": ("Not suitable for the student's age", "Tidak sesuai usia siswa", "年齢にふさわしくない内容",
                            "មិនសមស្របនឹងអាយុសិស្ស", "ບໍ່ເໝາະສົມກັບອາຍຸຂອງນັກຮຽນ", "Tidak sesuai dengan umur murid",
                            "ကျောင်းသား၏ အသက်အရွယ်နှင့် မသင့်လျော်ခြင်း", "மாணவரின் வயதுக்குப் பொருந்தாதது",
                            "ไม่เหมาะกับวัยของนักเรียน", "Hindi angkop sa edad ng mag-aaral",
                            "Không phù hợp với lứa tuổi học sinh", "不适合学生年龄",
                            "La apropriadu ba estudante nia idade", "Não adequado à idade do aluno"),
    "religion": ("Religion", "Agama", "宗教", "សាសនា", "ສາສະໜາ", "Agama", "ဘာသာရေး", "மதம்", "ศาสนา",
                 "Relihiyon", "Tôn giáo", "宗教",
                 "Relijiaun", "Religião"),
    "national_symbols": ("National symbols", "Lambang negara", "国の象徴", "និមិត្តសញ្ញាជាតិ", "ສັນຍາລັກແຫ່ງຊາດ",
                         "Lambang negara", "နိုင်ငံတော် အထိမ်းအမှတ်များ", "தேசியச் சின்னங்கள்", "สัญลักษณ์ของชาติ",
                         "Mga pambansang sagisag", "Biểu tượng quốc gia", "国家象征",
                         "Símbolu nasionál", "Símbolos nacionais"),
    "contested_history": ("Contested history", "Sejarah yang diperdebatkan", "見解の分かれる歴史",
                          "ប្រវត្តិសាស្ត្រដែលមានការជជែកវែកញែក", "ປະຫວັດສາດທີ່ມີການໂຕ້ແຍ້ງ", "Sejarah yang dipertikaikan",
                          "အငြင်းပွားဖွယ် သမိုင်း", "சர்ச்சைக்குரிய வரலாறு", "ประวัติศาสตร์ที่มีข้อโต้แย้ง",
                          "Pinagtatalunang kasaysayan", "Lịch sử còn tranh cãi", "有争议的历史",
                          "Istória ne'ebé kontestadu", "História contestada"),
    "official_terminology": ("Official terminology", "Istilah resmi", "公式の用語", "វាក្យសព្ទផ្លូវការ",
                             "ຄຳສັບທາງການ", "Istilah rasmi", "တရားဝင် အသုံးအနှုန်းများ", "அதிகாரப்பூர்வ சொற்கள்",
                             "ศัพท์ทางการ", "Opisyal na terminolohiya", "Thuật ngữ chính thức", "官方用语",
                             "Terminolojia ofisiál", "Terminologia oficial"),
    "sex_education_by_grade": ("Sex education by grade", "Pendidikan seks sesuai jenjang", "学年に応じた性教育",
                               "ការអប់រំផ្លូវភេទតាមថ្នាក់", "ເພດສຶກສາຕາມຊັ້ນຮຽນ", "Pendidikan seks mengikut tahun",
                               "အတန်းအလိုက် လိင်ပညာပေး", "வகுப்புக்கேற்ற பாலியல் கல்வி", "เพศศึกษาตามระดับชั้น",
                               "Edukasyong sekswal ayon sa baitang", "Giáo dục giới tính theo lớp",
                               "按年级的性教育",
                               "Edukasaun seksuál tuir klase", "Educação sexual por ano de escolaridade"),
}
CATEGORY_NAMES: dict[str, dict[str, str]] = {category: dict(zip(_ORDER, names, strict=True))
                                             for category, names in _NAMES.items()}


def category_name(category: str, lang: str | None) -> str:
    """The category's name in `lang`, else in English; an id this table does not know is shown as it is."""
    names = CATEGORY_NAMES.get(category)
    if names is None:
        return category
    return names.get(lang or "en") or names["en"]
