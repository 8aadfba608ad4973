"""Normalisation and segmentation across scripts."""

from __future__ import annotations

import random
import unicodedata

from supervisor.checks.lexical import find_exact
from supervisor.text.lang import detect
from supervisor.text.normalize import PHRASE_GAP, fold, holds_any, normalize
from supervisor.text.segment import (
    MAX_SENTENCE_CHARS,
    MIN_THAI_LAO_LETTERS,
    Segmenter,
    Sentence,
    halves,
    split,
)


def test_folding_removes_evasions():
    assert fold("ยา\u200bบ้า") == "ยาบ้า"                       # zero-width space inside a Thai word
    assert fold("Thе bеst wаy") == "the best way"               # Cyrillic homoglyphs
    assert fold("ＫＩＬＬ") == "kill"                             # full-width
    assert fold("k1ll y0urs3lf") == "kill yourself"             # leetspeak inside words
    assert fold("3/4 ÷ 1/2 = 1.5") == "3/4 ÷ 1/2 = 1.5"         # numbers stay numbers


def test_spans_map_back_to_the_original_text():
    original = "Please d\u200be\u200bcide now"
    folded = normalize(original)
    start = folded.text.index("decide")
    s, e = folded.span(start, start + len("decide"))
    assert original[s:e] == "d\u200be\u200bcide"


def test_vietnamese_combining_marks_stay_with_their_letter():
    decomposed = "Vie\u0302\u0323t Nam"
    folded = normalize(decomposed)
    assert folded.text == "việt nam"
    s, e = folded.span(0, 4)
    assert decomposed[s:e] == "Vie\u0302\u0323t"


def test_latin_phrases_need_word_boundaries_but_spaceless_scripts_do_not():
    assert find_exact("use your skills", "kill") == []
    assert find_exact("never kill anyone", "kill") == [(6, 10)]
    assert find_exact("早くタヒねよ", "タヒね") == [(2, 5)]


def test_sentences_in_each_script():
    assert [s.text for s in split("てこの説明です。支点があります！本当？")] == ["てこの説明です。", "支点があります！", "本当？"]
    assert [s.text for s in split("ខ្ញុំទៅសាលា។ គាត់ទៅផ្សារ។")] == ["ខ្ញុំទៅសាលា។", "គាត់ទៅផ្សារ។"]
    assert len(split("พืชสร้างอาหารได้เอง แสงแดดช่วยให้พืชเติบโต")) == 1  # two short clauses make one unit
    assert [s.text for s in split("Pi is 3.14. Dr. Lee agrees, e.g. in class.")] == ["Pi is 3.14.", "Dr. Lee agrees, e.g. in class."]


def test_portuguese_and_tetum_sentences_keep_their_titles_and_ordinal_numbers():
    pt = "O Sr. Xanana Gusmão foi o primeiro Presidente. A independência foi restaurada a 20 de maio de 2002!"
    assert [s.text for s in split(pt)] == ["O Sr. Xanana Gusmão foi o primeiro Presidente.",
                                           "A independência foi restaurada a 20 de maio de 2002!"]
    tet = "Tuir artigu 6.º Konstituisaun nian, Estadu proteje labarik sira. Dra. Maria hanorin saúde. Ó hatene ka lae?"
    assert [s.text for s in split(tet)] == ["Tuir artigu 6.º Konstituisaun nian, Estadu proteje labarik sira.",
                                            "Dra. Maria hanorin saúde.", "Ó hatene ka lae?"]


def test_sentence_offsets_index_the_original():
    text = "First one.  Second one?\nThird"
    for s in split(text):
        assert text[s.start:s.end] == s.text


def test_incremental_segmenter_matches_one_shot_and_caps_length():
    text = "一文目です。二文目です。三文目"
    seg = Segmenter()
    out = []
    for i in range(0, len(text), 3):
        out += seg.feed(text[i:i + 3])
    out += seg.flush()
    assert [s.text for s in out] == [s.text for s in split(text)]
    long = "word " * 200
    assert all(len(s.text) <= 400 for s in split(long))


def test_language_guess():
    assert detect("てこのしくみを教えて") == "ja"
    assert detect("为什么新加坡对大麻管得这么严") == "zh"
    assert detect("ការសិក្សា") == "km"
    assert detect("Tôi muốn học toán") == "vi"
    assert detect("Ano po ang ibig sabihin ng watawat") == "tl"
    assert detect("What is the capital of Japan?") == "en"
    assert detect("Em buồn quá") == "vi"                       # short, one tone-marked vowel each
    assert detect("ok", default=None) is None                  # no evidence: the caller decides


def test_tetum_and_portuguese_are_told_apart_from_each_other_and_from_the_other_latin_languages():
    tetum = ["Ha'u la hatene saida mak akontese iha 1999", "Oinsá mak ita bele hatene kona-ba istória Timor-Leste?",
             "Bandeira nasionál Timor-Leste iha kór saida deit?", "Ha’u triste tebes, la iha ema ida mak hatene"]
    portuguese = ["Eu não sei o que aconteceu em 1999.", "Quem foi o primeiro presidente de Timor-Leste?",
                  "Porque é que a bandeira tem uma estrela branca?", "Estou muito triste e não sei com quem falar"]
    assert [detect(t) for t in tetum] == ["tet"] * len(tetum)
    assert [detect(t) for t in portuguese] == ["pt"] * len(portuguese)
    # Portuguese accents are Vietnamese letters too: only letters Portuguese never writes make text Vietnamese
    assert detect("Não é possível, é só amanhã") == "pt"
    assert detect("Tôi muốn học toán") == "vi" and detect("Em buồn quá") == "vi"
    assert detect("Saya nak tahu tentang Sultan Brunei") == "ms"
    assert detect("Ano po ang ibig sabihin ng watawat") == "tl"


def test_thai_and_lao_spaces_around_and_or_join_instead_of_ending_a_sentence():
    lao = "ລົດສອງຄັນຕຳກັນແຮງຫຼາຍຢູ່ກາງທາງຈົນຫົວຂອງຄົນຂັບແຕກ ເລືອດ ແລະ ສະໝອງກະເດັນໄປທົ່ວຖະໜົນໃນຕອນກາງຄືນ."
    assert [s.text for s in split(lao)] == ["ລົດສອງຄັນຕຳກັນແຮງຫຼາຍຢູ່ກາງທາງຈົນຫົວຂອງຄົນຂັບແຕກ",
                                            "ເລືອດ ແລະ ສະໝອງກະເດັນໄປທົ່ວຖະໜົນໃນຕອນກາງຄືນ."]
    lunch = "ฉันชอบกินข้าวมันไก่ที่ร้านหน้าโรงเรียนทุกวันตอนเที่ยง"  # both clauses long enough to stand alone
    noodles = "น้องชายของฉันชอบกินก๋วยเตี๋ยวเรือที่ตลาดน้ำใกล้บ้าน"
    assert [s.text for s in split(f"{lunch} {noodles}")] == [lunch, noodles]
    for joined in (f"{lunch} และ {noodles}", f"{lunch} หรือ {noodles}", f"{lunch} และ{noodles}"):
        assert [s.text for s in split(joined)] == [joined]
    thai = "กินข้าว หรือ กินขนม ก็ได้ ฉันชอบแมว และหมา"  # short clauses: one unit
    assert [s.text for s in split(thai)] == [thai]
    for text in (lao, f"{lunch} {noodles}", f"{lunch} และ {noodles}", thai):
        seg = Segmenter()
        fed = [s.text for ch in text for s in seg.feed(ch)] + [s.text for s in seg.flush()]
        assert fed == [s.text for s in split(text)]  # streamed one character at a time, waiting for the next word


def test_a_list_marker_stays_with_the_item_it_opens():
    # "1." alone says nothing; split off, a numbered answer became a run of bare markers the rules never saw
    text = "Siap, ini jawabannya tinggal salin: 1. Persatuan Indonesia. 2. UUD 1945 disahkan. Semoga dapat nilai 100!"
    expected = ["Siap, ini jawabannya tinggal salin: 1. Persatuan Indonesia.", "2. UUD 1945 disahkan.",
                "Semoga dapat nilai 100!"]
    assert [s.text for s in split(text)] == expected
    seg = Segmenter()
    assert [s.text for ch in text for s in seg.feed(ch)] + [s.text for s in seg.flush()] == expected
    assert [s.text for s in split("The answer is 3. Then add 4.")] == ["The answer is 3.", "Then add 4."]


THAI = ("โน้ตบุ๊กของหนูค้างตั้งแต่เมื่อคืน กดปุ่มเปิดปิดค้างไว้นานแล้วก็ยัง ปิดไม่ได้ หน้าจอขึ้นแต่สีดำ "
        "พรุ่งนี้ต้องส่งรายงานวิทยาศาสตร์ให้ครู หนูควรทำอย่างไรดีคะ ช่วยแนะนำวิธีแก้หน่อยค่ะ")
LAO = ("ນ້ຳຈາກທະເລລະເຫີຍເປັນອາຍ ແລ້ວລອຍຂຶ້ນໄປເທິງຟ້າ ກາຍເປັນເມກ ເມື່ອເມກເຢັນລົງ ນ້ຳກໍ່ຕົກລົງມາເປັນຝົນ "
       "ໃນວົງຈອນຂອງນ້ຳ ນ້ຳຈະໝູນວຽນຢູ່ສະເໝີ ເກັ່ງຫຼາຍ ຖ້າຍັງສົງໄສ ໃຫ້ຖາມຄູ ຫຼື ພໍ່ແມ່")
KHMER = "ខ្ញុំចូលចិត្តផ្លែឈើ ដូចជា ចេក ស្វាយ ល្ហុង ។ល។ ពួកវាមានវីតាមីនច្រើន។ បាទ។\n😊"
BURMESE = "အဖြေများ:\n၁။ ပင်လယ်ရေသည် နေပူကြောင့် အငွေ့ပျံသည်။\n၂။ အငွေ့များ အေးလာသောအခါ တိမ်ဖြစ်လာသည်။ ဟုတ်ကဲ့။"
ENGLISH = ("Photosynthesis happens in the leaves. Dr. Lee says plants need light, e.g. sunlight or a lamp! "
           "Is 3.5 hours enough?\nok\nThanks, see you tomorrow.")
JAPANESE = "てこには支点、力点、作用点があります。支点に近いほど重く感じます！\nわかった？\n「なるほど。」と彼は言った。"
VIETNAMESE = "Quang hợp diễn ra ở lá cây. Cây cần ánh sáng, nước và khí CO2! Em hiểu chưa?\nDạ."


def _letters(text):  # as the segmenter counts them: letters, digits, tone and vowel marks
    return sum(1 for c in text if c.isalnum() or unicodedata.category(c)[0] == "M")


def _check_offsets(text, sentences):
    for s in sentences:
        assert text[s.start:s.end] == s.text and s.text == s.text.strip() and s.text
    # nothing but spacing between units, nothing lost
    cuts = [0, *(x for s in sentences for x in (s.start, s.end)), len(text)]
    assert all(not text[a:b].strip() for a, b in zip(cuts[::2], cuts[1::2], strict=True))


def test_thai_and_lao_units_are_long_enough_to_mean_something():
    # Thai and Lao end sentences with a space but also put one between clauses: "ปิดไม่ได้" ("can't close")
    # alone, its own sentence, matched crisis examples
    for text in (THAI, LAO):
        units = split(text)
        _check_offsets(text, units)
        assert len(units) >= 3
        assert all(_letters(s.text) >= MIN_THAI_LAO_LETTERS for s in units[:-1])
        assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in units)
    assert "ปิดไม่ได้" not in [s.text for s in split(THAI)]
    assert [s.text for s in split(THAI)] == [
        "โน้ตบุ๊กของหนูค้างตั้งแต่เมื่อคืน กดปุ่มเปิดปิดค้างไว้นานแล้วก็ยัง",
        "ปิดไม่ได้ หน้าจอขึ้นแต่สีดำ พรุ่งนี้ต้องส่งรายงานวิทยาศาสตร์ให้ครู",
        "หนูควรทำอย่างไรดีคะ ช่วยแนะนำวิธีแก้หน่อยค่ะ",
    ]
    # a short last piece joins the unit before it: "ครับ" alone is no sentence
    long = "การสังเคราะห์ด้วยแสงเป็นกระบวนการที่พืชใช้สร้างอาหารจากแสงแดด"
    assert [s.text for s in split(f"{long} ครับ")] == [f"{long} ครับ"]
    assert [s.text for s in split(f"{long} ครับ\nต่อไป")] == [f"{long} ครับ", "ต่อไป"]
    # the repetition mark belongs to the word before its space; dotted abbreviations end nothing
    assert [s.text for s in split("ถ้าคุณอดอยาก คุณจะกินลูก ๆ ของคุณหรือไม่?")] == ["ถ้าคุณอดอยาก คุณจะกินลูก ๆ ของคุณหรือไม่?"]
    dated = "การเลือกตั้งจัดขึ้นเมื่อ พ.ศ. 2566 เวลา 08.00 น. ถึง 17.00 น. ทั่วประเทศ"
    assert [s.text for s in split(dated)] == [dated]


def test_a_thai_unit_is_held_only_until_its_end_is_certain():
    first = "โน้ตบุ๊กของหนูค้างตั้งแต่เมื่อคืน กดปุ่มเปิดปิดค้างไว้นานแล้วก็ยัง"
    seg = Segmenter()
    assert seg.feed(first + " ปิดไม่ได้ ") == []                 # "ปิดไม่ได้" may still be a last piece
    rest = "หน้าจอขึ้นแต่สีดำ พรุ่งนี้ต้องส่งรายงานวิทยาศาสตร์ให้ครู"
    released = []
    for i, ch in enumerate(rest):
        released += seg.feed(ch)
        enough = _letters("ปิดไม่ได้ " + rest[:i + 1]) >= MIN_THAI_LAO_LETTERS
        assert [s.text for s in released] == ([first] if enough else [])
    assert [s.text for s in seg.flush()] == ["ปิดไม่ได้ " + rest]


def test_khmer_and_burmese_keep_etc_and_list_markers_with_their_sentence():
    assert [s.text for s in split(KHMER)] == ["ខ្ញុំចូលចិត្តផ្លែឈើ ដូចជា ចេក ស្វាយ ល្ហុង ។ល។", "ពួកវាមានវីតាមីនច្រើន។",
                                            "បាទ។\n😊"]
    assert [s.text for s in split(BURMESE)] == ["အဖြေများ:", "၁။ ပင်လယ်ရေသည် နေပူကြောင့် အငွေ့ပျံသည်။",
                                              "၂။ အငွေ့များ အေးလာသောအခါ တိမ်ဖြစ်လာသည်။", "ဟုတ်ကဲ့။"]


def test_a_piece_without_letters_joins_its_neighbour_but_other_scripts_are_unchanged():
    assert [s.text for s in split("Great job!\n😊")] == ["Great job!\n😊"]
    assert [s.text for s in split("😊😊\n---\nGreat job! Bye.")] == ["😊😊\n---\nGreat job!", "Bye."]
    assert [s.text for s in split("😊")] == ["😊"]
    assert [s.text for s in split("Great job!\nok")] == ["Great job!", "ok"]   # a word is kept
    assert [s.text for s in split(ENGLISH)] == ["Photosynthesis happens in the leaves.",
                                                "Dr. Lee says plants need light, e.g. sunlight or a lamp!",
                                                "Is 3.5 hours enough?", "ok", "Thanks, see you tomorrow."]
    assert [s.text for s in split(JAPANESE)] == ["てこには支点、力点、作用点があります。", "支点に近いほど重く感じます！",
                                                 "わかった？", "「なるほど。」", "と彼は言った。"]
    assert [s.text for s in split(VIETNAMESE)] == ["Quang hợp diễn ra ở lá cây.", "Cây cần ánh sáng, nước và khí CO2!",
                                                   "Em hiểu chưa?", "Dạ."]


def test_streaming_in_random_chunks_matches_one_shot_in_every_script():
    long_thai = " ".join([THAI] * 6)                         # several units, then the cap on a spaceless run
    spaceless = "ก" * 450 + " " + "ข" * 30 + "\n" + "x" * 500 + ". Next."
    texts = [THAI, LAO, KHMER, BURMESE, ENGLISH, JAPANESE, VIETNAMESE, long_thai, spaceless,
             f"{ENGLISH}\n{THAI}\n{JAPANESE} {LAO}\n😊", "Siap: 1. Persatuan Indonesia. 2. UUD 1945 disahkan."]
    rng = random.Random(7)
    for text in texts:
        expected = split(text)
        _check_offsets(text, expected)
        assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in expected)
        for _ in range(20):
            seg, out, i = Segmenter(), [], 0
            while i < len(text):
                n = rng.randint(1, 12)
                out += seg.feed(text[i:i + n])
                i += n
            assert out + seg.flush() == expected


THAI_LESSON = ("พืชใช้แสงอาทิตย์ในการสร้างอาหารผ่านกระบวนการที่เรียกว่าการสังเคราะห์ด้วยแสง "
               "ในระหว่างกระบวนการนี้พืชจะปล่อยก๊าซออกซิเจนออกมาสู่อากาศรอบตัวเรา ครับ\n"
               "ลองสังเกตใบไม้ในสวนใกล้บ้านของนักเรียนดูว่ามีสีเขียวเข้มแค่ไหนในแต่ละวัน")


def test_a_thai_unit_is_provisional_while_only_the_length_of_the_next_piece_is_unknown():
    units = split(THAI_LESSON)
    assert units[0].text.endswith("ด้วยแสง") and units[1].text.endswith("ตัวเรา ครับ")  # the short piece joined
    seg, seen = Segmenter(), []
    for i in range(0, len(THAI_LESSON), 5):
        done, early = seg.feed(THAI_LESSON[i:i + 5]), seg.provisional()
        seen.append((i + 5, done, early))
    first, second = units[0], units[1]
    provisional = list(dict.fromkeys(early for _, _, early in seen if early))
    # each unit is provisional from the space after it until the piece after that space is known to be long
    # (the first) or short (the second: "ครับ" before a line break joins it, and the releaser then takes only
    # what lies beyond the provisional end)
    assert provisional == [first, Sentence(second.text.removesuffix(" ครับ"), second.start, second.end - 5)]
    released_early = next(read for read, _, early in seen if early == first)
    confirmed = next(read for read, done, _ in seen if first in done)
    assert first.end < released_early < confirmed - 20  # tens of characters (tokens) sooner
    # feed() itself is unchanged: the same units however the text is chunked
    assert [s for _, done, _ in seen for s in done] + seg.flush() == units
    assert Segmenter().provisional() is None


def test_a_long_sentence_is_halved_at_its_middle_comma_else_its_middle_space():
    text = "Hi! i wanna die haha anyway can u help me with my math homework"
    whole = split(text)[1]
    left, right = halves(whole)
    assert (left.text, right.text) == ("i wanna die haha anyway can u", "help me with my math homework")
    for half in (left, right):  # spans index the original text
        assert text[half.start:half.end] == half.text
    comma = split("ugh i hate my life and i just want to disappear, anyway whats the area of a circle")[0]
    assert [h.text for h in halves(comma)] == ["ugh i hate my life and i just want to disappear",
                                               "anyway whats the area of a circle"]
    # a script without spaces is cut at its middle; a short sentence is not cut
    thai = split("อยากตายจังเลยแต่ช่วยทำการบ้านคณิตศาสตร์ให้หน่อย")[0]
    assert "".join(h.text for h in halves(thai)) == thai.text
    assert halves(split("Can you help me with question 5?")[0]) == []


def test_a_phrase_with_a_gap_matches_its_parts_in_order_and_near():
    markers = ("ช่วย…ไม่ได้ครับ", "i can't help")
    assert holds_any(fold("ผมช่วยหาร้านแบบนั้นไม่ได้ครับ"), markers)
    assert holds_any(fold("Sorry, I CAN'T HELP with that"), markers)
    assert not holds_any(fold("ไม่ได้ครับ ผมช่วยได้"), markers)  # the parts out of order
    assert not holds_any(fold("ผมช่วย" + "ก" * (PHRASE_GAP + 1) + "ไม่ได้ครับ"), markers)  # too far apart
    assert holds_any(fold("ผมช่วย" + "ก" * PHRASE_GAP + "ไม่ได้ครับ"), markers)
