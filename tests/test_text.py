"""Normalisation and segmentation across scripts."""

from __future__ import annotations

from supervisor.checks.lexical import find_exact
from supervisor.text.lang import detect
from supervisor.text.normalize import fold, normalize
from supervisor.text.segment import Segmenter, split


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
    assert len(split("พืชสร้างอาหารได้เอง แสงแดดช่วยให้พืชเติบโต")) == 2
    assert [s.text for s in split("Pi is 3.14. Dr. Lee agrees, e.g. in class.")] == ["Pi is 3.14.", "Dr. Lee agrees, e.g. in class."]


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


def test_thai_and_lao_spaces_around_and_or_join_instead_of_ending_a_sentence():
    lao = "ລົດຕຳກັນແຮງຈົນຫົວຂອງຄົນຂັບແຕກ ເລືອດ ແລະ ສະໝອງກະເດັນໄປທົ່ວຖະໜົນ."
    assert [s.text for s in split(lao)] == ["ລົດຕຳກັນແຮງຈົນຫົວຂອງຄົນຂັບແຕກ", "ເລືອດ ແລະ ສະໝອງກະເດັນໄປທົ່ວຖະໜົນ."]
    thai = "กินข้าว หรือ กินขนม ก็ได้ ฉันชอบแมว และหมา"
    assert [s.text for s in split(thai)] == ["กินข้าว หรือ กินขนม", "ก็ได้", "ฉันชอบแมว และหมา"]
    seg = Segmenter()
    fed = [s.text for ch in thai for s in seg.feed(ch)] + [s.text for s in seg.flush()]
    assert fed == [s.text for s in split(thai)]  # streamed one character at a time, waiting for the next word


def test_a_list_marker_stays_with_the_item_it_opens():
    # "1." alone says nothing; split off, a numbered answer became a run of bare markers the rules never saw
    text = "Siap, ini jawabannya tinggal salin: 1. Persatuan Indonesia. 2. UUD 1945 disahkan. Semoga dapat nilai 100!"
    expected = ["Siap, ini jawabannya tinggal salin: 1. Persatuan Indonesia.", "2. UUD 1945 disahkan.",
                "Semoga dapat nilai 100!"]
    assert [s.text for s in split(text)] == expected
    seg = Segmenter()
    assert [s.text for ch in text for s in seg.feed(ch)] + [s.text for s in seg.flush()] == expected
    assert [s.text for s in split("The answer is 3. Then add 4.")] == ["The answer is 3.", "Then add 4."]
