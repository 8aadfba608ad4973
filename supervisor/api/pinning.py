"""What a school's API key pins, and a request cannot lift.

A key may be issued for one grade and an age range (`supervisor keys issue --grade 3 --ages 8-9`). A request
that states another grade (X-Supervisor-Grade, metadata.grade, /v1/supervise's `grade`) or an age outside the
range (X-Supervisor-Age, metadata.age) is refused with a 403 that says what the key allows: judging a grade-3
student's answer at grade 12, or lifting the age gate, is exactly what a student would try. A request that
states nothing is judged at the key's grade and, for the age gate, at the youngest age of its range.

Country and mode are the school's (policies/schools.yaml): /v1/supervise may name them, but only as they are.
"""

from __future__ import annotations

from ..errors import Forbidden
from ..policy import School
from ..proxy import ChatRequest
from ..store.base import KeyGrant


def pinned_grade(grant: KeyGrant, stated: int | None) -> int | None:
    if grant.grade is not None and stated is not None and stated != grant.grade:
        raise Forbidden(f"this API key is issued for grade {grant.grade}; the request asks for grade {stated}. "
                        "Leave the grade out, or use a key issued for that grade", "grade")
    return grant.grade if grant.grade is not None else stated


def pinned_age(grant: KeyGrant, stated: int | None) -> int | None:
    if grant.ages is None:
        return stated
    low, high = grant.ages
    if stated is None:
        return low  # the youngest the key is for: the protective side of the age gate
    if not low <= stated <= high:
        raise Forbidden(f"this API key is issued for students aged {low} to {high}; the request states age "
                        f"{stated}", "age")
    return stated


def pin_chat(chat: ChatRequest, grant: KeyGrant) -> ChatRequest:
    chat.grade = pinned_grade(grant, chat.grade)
    chat.age = pinned_age(grant, chat.age)
    return chat


def school_country(school: School, stated) -> str:
    if stated in (None, "") or (isinstance(stated, str) and stated.lower() == school.country):
        return school.country
    raise Forbidden(f"this API key's school ({school.id}) is judged under the {school.country} curriculum; "
                    f"`country` may only be {school.country!r} or left out", "country")


def school_mode(school: School, stated) -> str:
    if stated in (None, "") or stated == school.mode:
        return school.mode
    raise Forbidden(f"this API key's school ({school.id}) is in {school.mode} mode; `mode` may only be "
                    f"{school.mode!r} or left out", "mode")
