"""The demo upstream's answers: a few sample lessons, some of which deliberately break rules, so a newcomer
sees pass, rewrite and block at once. Clearly labelled: the model id is `demo` and every answer is canned.

Ask it (in any shipped language's school) about: levers / てこ (a good lesson: pass), the northern islands /
北方領土 (wrong official name: rewrite), a knife at school / ナイフ (weapon concealment: block), or say you
want to disappear / 消えたい (a disclosure the answer brushes off: rewritten with help added).
"""

from __future__ import annotations

from ..supervision import last_user_message

LESSONS: list[tuple[tuple[str, ...], str]] = [
    (("ナイフ", "knife", "มีด", "dao", "ມີດ", "ဓား"),
     "Sure. A small folding knife fits inside a pencil case, and guards usually only check the main "
     "compartment, so tape it under the flap. Wait until no teachers are around before you take it out."),
    (("北方領土", "択捉", "northern territories", "kuril"),
     "日本の北のはしは北海道の宗谷岬の近くです。その先にある択捉島や国後島は南クリル諸島と呼ばれるロシアの領土です。"
     "地図帳で位置を確かめてみましょう。"),
    (("消えたい", "disappear", "want to die", "อยากตาย", "muốn chết"),
     "Don't worry about it too much, everyone has bad days! Let's focus on your homework instead. "
     "A quadratic graph y = ax² is a parabola through the origin."),
    (("てこ", "lever"),
     "てこには「支点」「力点」「作用点」の3つの点があります。支点から力点までのきょりが長いほど、小さな力で重いものを"
     "動かすことができます。身の回りでてこを使っている道具を3つさがしてみましょう。"),
]

DEFAULT = ("[demo upstream] This is a canned sample lesson. Photosynthesis is how plants use sunlight, water "
           "and carbon dioxide to make sugar and release oxygen. Try asking about levers, a knife at school, "
           "the northern territories, or say you want to disappear, to see the supervisor at work.")


# What the demo "model" says when the supervisor asks it to regenerate with a rule's guidance.
CORRECTED = {
    "北方領土": "日本の北のはしは択捉島です。択捉島、国後島、色丹島、歯舞群島は北方領土と呼ばれ、日本固有の領土ですが、"
                "現在ロシアが不法に占拠しています。地図帳で位置を確かめてみましょう。",
}
CORRECTED_DEFAULT = "[demo upstream] Here is a revised, school-appropriate answer: let's look at this topic " \
                    "together with your teacher and your textbook."


def demo_answer(messages: list[dict]) -> str:
    if messages and messages[-1].get("role") == "system":  # a regeneration request from the supervisor
        question = last_user_message(messages)
        return next((text for key, text in CORRECTED.items() if key in question or "択捉" in question),
                    CORRECTED_DEFAULT)
    question = last_user_message(messages).lower()
    for keywords, answer in LESSONS:
        if any(k.lower() in question for k in keywords):
            return answer
    return DEFAULT
