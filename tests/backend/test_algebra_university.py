"""The query algebra on a university dataset, checked against pandas on every backend.

The dataset (tests/backend/university.py) is generated once and loaded once per backend into a
module-scoped schema. Every test computes its expected answer independently from the raw
DataFrames and compares it with the dj_jupyter result as sorted rows (floats with a tolerance).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError
from tests import servers
from tests.backend import university
from tests.backend.university import ENROLLMENT_KEY, HOSTILE_FIRST, HOSTILE_LAST, SECTION_KEY

pytestmark = pytest.mark.backend

DATA = university.generate()


@pytest.fixture(scope="module", params=servers.enabled_backends())
def u(request: pytest.FixtureRequest,
      tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The loaded dataset on one backend: ``u.t`` the table classes, ``u.d`` the frames."""
    backend = request.param
    # Not the ``t_`` prefix: the function-scoped ``db_url`` fixture of a concurrent test session
    # on the same server drops every new ``t_`` schema, and this one lives for the whole module.
    name = f"univ_{uuid.uuid4().hex[:12]}"
    server = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('university') / 'university.db'}"
    else:
        server = request.getfixturevalue(f"{backend}_server")
        url = server.url
    connection = dj.Connection(url)
    schema = dj.Schema(name, connection=connection)
    try:
        tables = university.load(schema, DATA)
        yield SimpleNamespace(backend=backend, t=tables, d=DATA, schema=schema)
    finally:
        try:
            with dj.config.override(safemode=False):
                schema.drop(prompt=False)
        finally:
            connection.close()
            if server is not None:
                servers.drop_schemas(server, {name})


# --- comparing results -------------------------------------------------------------------------


def norm(value):
    """A value comparable across drivers and pandas: NULL/NaN/NaT as None, numbers plain."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, Decimal)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _key(row: tuple) -> tuple:
    return tuple((v is None, 0 if v is None else v) for v in row)


def got(query, names: list[str] | None = None) -> list[tuple]:
    """The query's rows as sorted tuples over ``names`` (default: its heading)."""
    names = query.heading.names if names is None else names
    rows = [tuple(norm(r[n]) for n in names) for r in query.to_dicts()]
    return sorted(rows, key=_key)


def want(frame: pd.DataFrame, names: list[str]) -> list[tuple]:
    rows = [tuple(norm(v) for v in row) for row in frame[names].itertuples(index=False, name=None)]
    return sorted(rows, key=_key)


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def assert_rows(actual: list[tuple], expected: list[tuple]) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"
    for a, e in zip(actual, expected):
        assert len(a) == len(e) and all(same(x, y) for x, y in zip(a, e)), f"{a} != {e}"


def check(query, frame: pd.DataFrame, names: list[str] | None = None) -> None:
    """``query`` has exactly the rows of ``frame`` (over ``names`` or the query's heading)."""
    names = query.heading.names if names is None else names
    assert_rows(got(query, names), want(frame, names))


def frames(u) -> SimpleNamespace:
    return SimpleNamespace(**u.d)


STUDENT = list(DATA["Student"].columns)


# --- restriction -------------------------------------------------------------------------------


def test_dict_restriction_ignores_unknown_keys(u):
    s = u.d["Student"]
    check(u.t.Student & {"home_state": "CA", "no_such_attribute": 5}, s[s.home_state == "CA"])
    check(u.t.Student & {"home_state": "UT", "sex": "F"},
          s[(s.home_state == "UT") & (s.sex == "F")])
    assert len(u.t.Student & {"no_such_attribute": 1}) == len(s)  # nothing known: everything


def test_dict_restriction_none_is_null(u):
    s = u.d["Student"]
    check(u.t.Student & {"phone": None}, s[s.phone.isna()])
    check(u.t.Student & {"major": None, "home_state": "NY"},
          s[s.major.isna() & (s.home_state == "NY")])
    check(u.t.Student - {"phone": None}, s[s.phone.notna()])


def test_list_of_dicts_is_or(u):
    s = u.d["Student"]
    check(u.t.Student & [{"home_state": "CA"}, {"home_state": "UT", "sex": "M"}],
          s[(s.home_state == "CA") | ((s.home_state == "UT") & (s.sex == "M"))])
    assert len(u.t.Student & []) == 0
    assert len(u.t.Student - []) == len(s)
    assert len(u.t.Student & [{"home_state": "CA"}, True]) == len(s)


def test_andlist_is_and(u):
    s = u.d["Student"]
    check(u.t.Student & dj.AndList([{"home_state": "CA"}, {"sex": "F"}, "student_id < 1300"]),
          s[(s.home_state == "CA") & (s.sex == "F") & (s.student_id < 1300)])
    assert len(u.t.Student & dj.AndList([])) == len(s)
    assert len(u.t.Student - dj.AndList([])) == 0


def test_not(u):
    s = u.d["Student"]
    check(u.t.Student & dj.Not({"home_state": "CA"}), s[s.home_state != "CA"])
    check(u.t.Student & dj.Not(dj.Not({"home_state": "CA"})), s[s.home_state == "CA"])
    check(u.t.Student - [{"home_state": "CA"}, {"home_state": "NY"}],
          s[~s.home_state.isin(["CA", "NY"])])
    # SQL semantics: NOT (major = 'MATH') is not true where major is NULL
    check(u.t.Student & dj.Not({"major": "MATH"}), s[s.major.notna() & (s.major != "MATH")])


def test_antijoin(u):
    d = frames(u)
    check(u.t.Student - u.t.Enrollment, d.Student[~d.Student.student_id.isin(
        d.Enrollment.student_id)])
    never = d.Course[~d.Course.course.isin(d.Section.course)]
    assert len(never) == 8
    check(u.t.Course - u.t.Section, never)
    ungraded = d.Enrollment.merge(d.Grade, how="left", indicator=True)
    check(u.t.Enrollment - u.t.Grade, ungraded[ungraded._merge == "left_only"])


def test_semijoin(u):
    d = frames(u)
    course = d.Section.course.iloc[0]
    takers = d.Enrollment[d.Enrollment.course == course].student_id
    check(u.t.Student & (u.t.Enrollment & {"course": course}),
          d.Student[d.Student.student_id.isin(takers)])
    with_a = d.Grade[d.Grade.grade == "A"].student_id
    check(u.t.Student & (u.t.Grade & {"grade": "A"}), d.Student[d.Student.student_id.isin(with_a)])
    # a semijoin on a multi-attribute key
    fall = d.Enrollment[d.Enrollment.season == "Fall"][SECTION_KEY].drop_duplicates()
    check(u.t.Section & (u.t.Enrollment & {"season": "Fall"}), d.Section.merge(fall))


def test_restriction_by_dataframe(u):
    s = u.d["Student"]
    picked = s.iloc[[3, 10, 50, 51]]
    check(u.t.Student & picked[["student_id"]], picked)
    check(u.t.Student & picked.set_index("student_id")[["home_state"]], picked)
    check(u.t.Student - picked[["student_id", "home_state"]],
          s[~s.student_id.isin(picked.student_id)])
    assert len(u.t.Student & picked.iloc[:0]) == 0


def test_true_and_false(u):
    n = len(u.d["Student"])
    assert len(u.t.Student & True) == n
    assert len(u.t.Student & False) == 0
    assert len(u.t.Student - True) == 0
    assert len(u.t.Student - False) == n


def test_string_restriction(u):
    d = frames(u)
    check(u.t.Course & "credits >= 3", d.Course[d.Course.credits >= 3])
    check(u.t.Student & "home_state = 'CA'", d.Student[d.Student.home_state == "CA"])
    check(u.t.Student & 'home_state="UT"', d.Student[d.Student.home_state == "UT"])
    check(u.t.Student & "home_state IN ('WA', 'MA') AND student_id > 1200",
          d.Student[d.Student.home_state.isin(["WA", "MA"]) & (d.Student.student_id > 1200)])
    check(u.t.Student & "YEAR(dob) = 2000",
          d.Student[[x.year == 2000 for x in d.Student.dob]])


def test_string_restriction_with_percent(u):
    d = frames(u)
    check(u.t.Student & "student_id % 7 = 0", d.Student[d.Student.student_id % 7 == 0])
    check(u.t.Student & "last LIKE 'O%'", d.Student[d.Student["last"].str.startswith("O")])


def test_top(u):
    s = u.d["Student"]
    youngest = s.sort_values("dob", ascending=False).head(5)
    top = u.t.Student & dj.Top(5, "dob DESC")
    check(top, youngest)
    assert [r["student_id"] for r in top.to_dicts(order_by="dob DESC")] == \
        youngest.student_id.tolist()
    e = u.d["Enrollment"]
    check(u.t.Enrollment & dj.Top(3, "KEY", offset=2), e.sort_values(ENROLLMENT_KEY).iloc[2:5])
    check(u.t.Enrollment & dj.Top(4, "KEY DESC"),
          e.sort_values(ENROLLMENT_KEY, ascending=False).head(4))


def test_top_then_restriction_and_back(u):
    s = u.d["Student"]
    ten = s.sort_values("dob", ascending=False).head(10)
    check((u.t.Student & dj.Top(10, "dob DESC")) & {"home_state": "CA"},
          ten[ten.home_state == "CA"])
    ca = s[s.home_state == "CA"].sort_values("dob", ascending=False).head(10)
    check((u.t.Student & {"home_state": "CA"}) & dj.Top(10, "dob DESC"), ca)
    check((u.t.Student & dj.Top(10, "dob DESC")) & dj.Top(3, "student_id"),
          ten.sort_values("student_id").head(3))
    check((u.t.Student & dj.Top(10, "dob DESC")) - u.t.Enrollment,
          ten[~ten.student_id.isin(u.d["Enrollment"].student_id)])


# --- joins -------------------------------------------------------------------------------------


def test_join_a_determines_b(u):
    d = frames(u)
    q = u.t.Enrollment * u.t.Student
    assert q.primary_key == ENROLLMENT_KEY
    assert q.heading.names == ENROLLMENT_KEY + STUDENT[1:]
    check(q, d.Enrollment.merge(d.Student))
    q = u.t.Section * u.t.Course
    assert q.primary_key == SECTION_KEY
    assert q.heading.names == [*SECTION_KEY, "teacher", "room", "dept", "name", "credits"]
    check(q, d.Section.merge(d.Course))


def test_join_b_determines_a(u):
    d = frames(u)
    q = u.t.Course * u.t.Section
    assert q.primary_key == SECTION_KEY
    assert q.heading.names == [*SECTION_KEY, "teacher", "room", "dept", "name", "credits"]
    check(q, d.Section.merge(d.Course))
    assert (u.t.Student * u.t.Enrollment).primary_key == ENROLLMENT_KEY


def test_join_neither_determines(u):
    d = frames(u)
    q = u.t.Prerequisite * u.t.Section
    assert q.primary_key == ["course", "prereq", "term_year", "season", "section"]
    assert q.heading.names == q.primary_key + ["teacher", "room"]
    check(q, d.Prerequisite.merge(d.Section))
    q = u.t.Section * u.t.Prerequisite
    assert q.primary_key == [*SECTION_KEY, "prereq"]
    check(q, d.Prerequisite.merge(d.Section))


def test_three_way_joins(u):
    d = frames(u)
    q = u.t.Student * u.t.Enrollment * u.t.Grade * u.t.LetterGrade
    assert q.primary_key == ENROLLMENT_KEY
    check(q, d.Student.merge(d.Enrollment).merge(d.Grade).merge(d.LetterGrade))
    q = u.t.Section * u.t.Course * u.t.Department.proj(dept_name="name")
    check(q, d.Section.merge(d.Course).merge(
        d.Department.rename(columns={"name": "dept_name"})[["dept", "dept_name"]]))


def test_join_with_renamed_projection(u):
    d = frames(u)
    teachers = u.t.Instructor.proj(teacher="instructor", teacher_last="last")
    assert teachers.heading.names == ["teacher", "teacher_last"]
    assert teachers.primary_key == ["teacher"]
    q = u.t.Section * teachers
    renamed = d.Instructor.rename(columns={"instructor": "teacher", "last": "teacher_last"})
    check(q, d.Section.merge(renamed[["teacher", "teacher_last"]]))
    q = u.t.Prerequisite * u.t.Course.proj(prereq="course", prereq_name="name")
    pre = d.Course.rename(columns={"course": "prereq", "name": "prereq_name"})
    check(q, d.Prerequisite.merge(pre[["prereq", "prereq_name"]]))


def test_extend_and_left_join(u):
    d = frames(u)
    expected = d.Enrollment.merge(d.Grade, how="left")
    assert expected.grade.isna().any()
    check(u.t.Enrollment.extend(u.t.Grade), expected)
    check(u.t.Enrollment.join(u.t.Grade, left=True), expected)
    assert len(u.t.Enrollment.extend(u.t.Grade)) == len(d.Enrollment)
    majors = u.t.Department.proj(major="dept", major_name="name")
    expected = d.Student.merge(d.Department.rename(columns={"dept": "major", "name": "major_name"})
                               [["major", "major_name"]], how="left")
    check(u.t.Student.extend(majors), expected)


def test_left_join_requires_a_to_determine_b(u):
    with pytest.raises(DataJointError, match="primary-key"):
        u.t.Student.extend(u.t.Enrollment)
    with pytest.raises(DataJointError):
        u.t.Course.join(u.t.Section, left=True)


def test_joins_with_restricted_operands(u):
    d = frames(u)
    q = (u.t.Student & {"home_state": "CA"}) * (u.t.Enrollment & {"season": "Fall"})
    check(q, d.Student[d.Student.home_state == "CA"].merge(
        d.Enrollment[d.Enrollment.season == "Fall"]))
    a_grades = d.Grade[d.Grade.grade == "A"]
    check(u.t.Enrollment.extend(u.t.Grade & {"grade": "A"}),
          d.Enrollment.merge(a_grades, how="left"))
    q = (u.t.Enrollment - u.t.Grade) * (u.t.Section & "room < 'R200'")
    ungraded = d.Enrollment.merge(d.Grade, how="left")
    check(q, ungraded[ungraded.grade.isna()].drop(columns="grade").merge(
        d.Section[d.Section.room < "R200"]))


# --- projection --------------------------------------------------------------------------------


def test_proj_keep_and_exclude(u):
    s = u.d["Student"]
    q = u.t.Student.proj("home_state", "first")
    assert q.heading.names == ["student_id", "first", "home_state"]
    check(q, s)
    q = u.t.Student.proj(..., "-phone", "-major")
    assert q.heading.names == [n for n in STUDENT if n not in ("phone", "major")]
    check(q, s)
    assert u.t.Student.proj().heading.names == ["student_id"]
    check(u.t.Student.proj(...), s, STUDENT)
    assert u.t.Student.proj(...).heading.names == STUDENT


def test_proj_rename_including_primary_key(u):
    s = u.d["Student"].rename(columns={"student_id": "sid", "last": "family"})
    q = u.t.Student.proj(sid="student_id", family="last")
    assert q.heading.names == ["sid", "family"]
    assert q.primary_key == ["sid"]
    check(q, s)
    check(q & {"family": HOSTILE_LAST}, s[s.family == HOSTILE_LAST])
    check(q & "sid < 1010", s[s.sid < 1010])
    check(q & {"student_id": 1000}, s)  # student_id is gone: an unknown key, ignored


def test_proj_duplicate(u):
    s = u.d["Student"].assign(surname=u.d["Student"]["last"])
    q = u.t.Student.proj(surname="(last)")
    assert q.heading.names == ["student_id", "last", "surname"]
    check(q, s)
    q = u.t.Student.proj("first", id2="(student_id)")
    assert q.primary_key == ["student_id"]
    check(q, s.assign(id2=s.student_id), ["student_id", "first", "id2"])


def test_proj_computed(u):
    d = frames(u)
    check(u.t.Course.proj(double="credits * 2"), d.Course.assign(double=d.Course.credits * 2))
    s = d.Student
    check(u.t.Student.proj(birth_year="YEAR(dob)"), s.assign(birth_year=[x.year for x in s.dob]))
    full = s.assign(full=s["first"] + " " + s["last"])
    check(u.t.Student.proj(full="CONCAT(first, ' ', last)"), full)
    q = u.t.Student.proj(..., birth_year="YEAR(dob)")
    assert q.heading.names == [*STUDENT, "birth_year"]
    check(q, s.assign(birth_year=[x.year for x in s.dob]))


def test_restriction_after_projection(u):
    d = frames(u)
    s = d.Student.assign(birth_year=[x.year for x in d.Student.dob])
    q = u.t.Student.proj("home_state", birth_year="YEAR(dob)")
    check(q & "birth_year >= 2002", s[s.birth_year >= 2002])
    check(q & {"birth_year": 2000}, s[s.birth_year == 2000])
    check(q & {"birth_year": 2000, "home_state": "TX"},
          s[(s.birth_year == 2000) & (s.home_state == "TX")])
    c = d.Course.rename(columns={"credits": "hours"})
    check(u.t.Course.proj(hours="credits") & "hours > 3", c[c.hours > 3])
    check(u.t.Course.proj(hours="credits") & {"hours": 2}, c[c.hours == 2])


def test_proj_errors(u):
    with pytest.raises(DataJointError, match="primary-key"):
        u.t.Student.proj("-student_id")
    with pytest.raises(DataJointError, match="nope"):
        u.t.Student.proj("nope")
    with pytest.raises(DataJointError, match="twice"):
        u.t.Student.proj("first", first="last")


# --- aggregation -------------------------------------------------------------------------------


def _per_student(d, values: pd.Series, fill=None) -> list:
    by_id = values.to_dict()
    return [by_id.get(i, fill) for i in d.Student.student_id]


def test_aggr_count(u):
    d = frames(u)
    counts = d.Enrollment.groupby("student_id").size()
    q = u.t.Student.aggr(u.t.Enrollment, n="count(course)")
    assert q.heading.names == ["student_id", "n"]
    assert q.primary_key == ["student_id"]
    expected = d.Student.assign(n=_per_student(d, counts, 0))
    assert (expected.n == 0).sum() > 10
    check(q, expected)
    q = u.t.Student.aggr(u.t.Enrollment, n="count(*)", exclude_nonmatching=True)
    check(q, expected[expected.n > 0])


def test_aggr_count_star_keeps_the_null_row_like_datajoint(u):
    """With the default LEFT JOIN, count(*) counts the NULL row of a non-matching group (1)."""
    d = frames(u)
    counts = d.Enrollment.groupby("student_id").size()
    expected = d.Student.assign(n=_per_student(d, counts, 1))
    check(u.t.Student.aggr(u.t.Enrollment, n="count(*)"), expected, ["student_id", "n"])


def test_aggr_statistics(u):
    d = frames(u)
    points = d.Grade.merge(d.LetterGrade).groupby("student_id")["points"]
    q = u.t.Student.aggr(u.t.Grade * u.t.LetterGrade, gpa="avg(points)", best="max(points)",
                         worst="min(points)", total="sum(points)", k="count(grade)")
    expected = d.Student.assign(gpa=_per_student(d, points.mean()),
                                best=_per_student(d, points.max()),
                                worst=_per_student(d, points.min()),
                                total=_per_student(d, points.sum()),
                                k=_per_student(d, points.count(), 0))
    check(q, expected)
    row = (q & {"student_id": int(points.mean().index[0])}).fetch1()
    assert isinstance(row["gpa"], float)


def test_aggr_group_concat(u):
    d = frames(u)
    hours = d.Meeting.groupby(SECTION_KEY)
    days = hours["weekday"].apply(lambda x: ",".join(sorted(x))).rename("days")
    expected = d.Section.merge(days.reset_index(), how="left")
    assert expected.days.isna().any()
    q = u.t.Section.aggr(u.t.Section.Meeting, days="GROUP_CONCAT(weekday ORDER BY weekday "
                         "SEPARATOR ',')")
    check(q, expected, [*SECTION_KEY, "days"])
    q = u.t.Section.aggr(u.t.Section.Meeting, days="GROUP_CONCAT(weekday ORDER BY weekday DESC "
                         "SEPARATOR '; ')", exclude_nonmatching=True)
    desc = hours["weekday"].apply(lambda x: "; ".join(sorted(x, reverse=True))).reset_index()
    check(q, desc.rename(columns={"weekday": "days"}), [*SECTION_KEY, "days"])


def test_aggr_std(u):
    d = frames(u)
    hours = d.Meeting.groupby(SECTION_KEY)["hour"]
    stats = pd.DataFrame({"sd": hours.apply(lambda x: float(np.std(x))),
                          "var": hours.apply(lambda x: float(np.var(x))),
                          "mean": hours.mean()}).reset_index()
    q = u.t.Section.aggr(u.t.Section.Meeting, sd="std(hour)", var="variance(hour)",
                         mean="avg(hour)")
    check(q, d.Section.merge(stats, how="left"), [*SECTION_KEY, "sd", "var", "mean"])


def test_aggr_keeps_attributes(u):
    d = frames(u)
    counts = d.Enrollment.groupby("student_id").size()
    q = u.t.Student.aggr(u.t.Enrollment, ..., n="count(course)")
    assert q.heading.names == [*STUDENT, "n"]
    check(q, d.Student.assign(n=_per_student(d, counts, 0)))
    q = u.t.Student.aggr(u.t.Enrollment, "home_state", n="count(course)")
    assert q.heading.names == ["student_id", "home_state", "n"]


def test_restrict_aggregation_by_computed_value(u):
    d = frames(u)
    counts = d.Student.assign(n=_per_student(d, d.Enrollment.groupby("student_id").size(), 1))
    q = u.t.Student.aggr(u.t.Enrollment, n="count(*)")
    check(q & "n > 3", counts[counts.n > 3], ["student_id", "n"])
    check(q & {"n": 5}, counts[counts.n == 5], ["student_id", "n"])
    check(u.t.Student & (q & "n > 6"), d.Student[d.Student.student_id.isin(
        counts[counts.n > 6].student_id)])


def test_aggr_with_restricted_operands(u):
    d = frames(u)
    fall = d.Enrollment[d.Enrollment.season == "Fall"].groupby("student_id").size()
    q = u.t.Student.aggr(u.t.Enrollment & {"season": "Fall"}, n="count(course)")
    check(q, d.Student.assign(n=_per_student(d, fall, 0)), ["student_id", "n"])
    ca = d.Student[d.Student.home_state == "CA"]
    q = (u.t.Student & {"home_state": "CA"}).aggr(u.t.Enrollment & {"season": "Fall"},
                                                   n="count(course)")
    check(q, ca.assign(n=[int(fall.get(i, 0)) for i in ca.student_id]), ["student_id", "n"])


def test_aggregation_of_a_join(u):
    d = frames(u)
    joined = d.Course[["course", "dept"]].merge(d.Section).merge(d.Enrollment)
    q = u.t.Department.aggr(u.t.Course.proj("dept") * u.t.Section * u.t.Enrollment,
                            n="count(student_id)", students="count(DISTINCT student_id)")
    expected = d.Department.merge(joined.groupby("dept").agg(
        n=("student_id", "size"), students=("student_id", "nunique")).reset_index(), how="left")
    check(q, expected, ["dept", "n", "students"])
    per_course = d.Section.merge(d.Enrollment).groupby("course").size()
    q = u.t.Course.aggr(u.t.Section * u.t.Enrollment, n="count(student_id)")
    check(q, d.Course.assign(n=[int(per_course.get(c, 0)) for c in d.Course.course]),
          ["course", "n"])


def test_aggr_errors(u):
    with pytest.raises(DataJointError, match="student_id"):
        u.t.Student.aggr(u.t.Course, n="count(*)")
    with pytest.raises(DataJointError, match="name"):  # Department.name vs Course.name
        u.t.Department.aggr(u.t.Course, n="count(course)")


# --- union -------------------------------------------------------------------------------------


def test_union_of_keys(u):
    d = frames(u)
    s = d.Student
    q = (u.t.Student & {"home_state": "CA"}).proj() + (u.t.Student & {"home_state": "UT"}).proj()
    check(q, s[s.home_state.isin(["CA", "UT"])])
    fall = dj.U("student_id") & (u.t.Enrollment & {"season": "Fall"})
    q = (u.t.Student & {"home_state": "CA"}).proj() + fall
    ids = set(s[s.home_state == "CA"].student_id) | set(
        d.Enrollment[d.Enrollment.season == "Fall"].student_id)
    assert got(q) == sorted((int(i),) for i in ids)
    assert len(q) == len(ids)


def test_outer_union_pads_with_nulls(u):
    s = u.d["Student"]
    a = s[s.home_state == "CA"]
    b = s[(s.home_state == "UT") | ((s.home_state == "CA") & (s.sex == "F"))]
    q = (u.t.Student & {"home_state": "CA"}).proj("first") + \
        (u.t.Student & [{"home_state": "UT"}, {"home_state": "CA", "sex": "F"}]).proj("dob")
    assert q.heading.names == ["student_id", "first", "dob"]
    expected = a[["student_id", "first"]].merge(b[["student_id", "dob"]], how="outer")
    check(q, expected)
    assert len(q) == len(expected)


def test_union_errors(u):
    with pytest.raises(DataJointError, match="primary key"):
        u.t.Student.proj() + u.t.Course.proj()
    with pytest.raises(DataJointError, match="secondary"):
        (u.t.Student & {"home_state": "CA"}) + (u.t.Student & {"home_state": "UT"})
    with pytest.raises(DataJointError, match="lineage"):  # an outer union matches on the key
        u.t.Student.proj("first", x="student_id") + u.t.Instructor.proj("hire_date",
                                                                          x="instructor")


# --- universal sets ----------------------------------------------------------------------------


def test_u_distinct_values(u):
    s = u.d["Student"]
    q = dj.U("home_state") & u.t.Student
    assert q.primary_key == ["home_state"]
    check(q, s[["home_state"]].drop_duplicates())
    q = dj.U("home_state", "sex") & (u.t.Student & "student_id < 1100")
    check(q, s[s.student_id < 1100][["home_state", "sex"]].drop_duplicates())
    check((dj.U("home_state") & u.t.Student) & {"home_state": "CA"}, pd.DataFrame(
        {"home_state": ["CA"]}))
    assert len(u.t.Student & dj.U("home_state")) == len(s)


def test_u_aggr(u):
    d = frames(u)
    q = dj.U("home_state").aggr(u.t.Student, n="count(*)")
    assert q.primary_key == ["home_state"]
    check(q, d.Student.groupby("home_state").size().rename("n").reset_index())
    q = dj.U("term_year", "season").aggr(u.t.Enrollment, n="count(*)",
                                         k="count(DISTINCT student_id)")
    check(q, d.Enrollment.groupby(["term_year", "season"]).agg(
        n=("student_id", "size"), k=("student_id", "nunique")).reset_index())
    assert dj.U().aggr(u.t.Student, n="count(*)").fetch1("n") == len(d.Student)
    total = dj.U().aggr(u.t.Grade * u.t.LetterGrade, mean="avg(points)").fetch1("mean")
    assert math.isclose(total, d.Grade.merge(d.LetterGrade).points.mean())
    q = dj.U("major").aggr(u.t.Student & {"home_state": "TX"}, n="count(*)")
    tx = d.Student[d.Student.home_state == "TX"]
    check(q, tx.groupby("major", dropna=False).size().rename("n").reset_index())


def test_u_errors(u):
    with pytest.raises(DataJointError):
        dj.U("home_state") * u.t.Student
    with pytest.raises(DataJointError):
        u.t.Student * dj.U("home_state")
    with pytest.raises(DataJointError):
        dj.U("home_state") - u.t.Student
    with pytest.raises(DataJointError, match="nope"):
        dj.U("nope") & u.t.Student


# --- semantic matching -------------------------------------------------------------------------


def test_homonymous_secondaries_cannot_be_joined(u):
    with pytest.raises(DataJointError) as caught:
        u.t.Course * u.t.Department
    message = str(caught.value)
    assert "'name'" in message and "None" in message and ".proj(" in message
    with pytest.raises(DataJointError, match="'first'"):
        u.t.Student * u.t.Instructor
    with pytest.raises(DataJointError, match="'first'"):
        u.t.Student & u.t.Instructor
    with pytest.raises(DataJointError, match="'first'"):
        u.t.Student - u.t.Instructor


def test_different_lineages_are_named(u):
    with pytest.raises(DataJointError) as caught:
        u.t.Student.proj(person="student_id") * u.t.Instructor.proj(person="instructor")
    message = str(caught.value)
    assert "'person'" in message and ".proj(" in message
    assert u.t.Student.heading["student_id"].lineage in message
    assert u.t.Instructor.heading["instructor"].lineage in message
    with pytest.raises(DataJointError, match="teacher"):
        u.t.Section * u.t.Student.proj(teacher="student_id")


def test_foreign_key_attributes_match(u):
    d = frames(u)
    q = u.t.Course * u.t.Department.proj(dept_name="name")
    check(q, d.Course.merge(d.Department.rename(columns={"name": "dept_name"})))
    # dept is a secondary of both, inherited from Department: it matches
    q = u.t.Course.proj("dept") * u.t.Instructor.proj("dept")
    assert q.primary_key == ["course", "instructor"]
    check(q, d.Course[["course", "dept"]].merge(d.Instructor[["instructor", "dept"]]))
    assert u.t.Section.heading["teacher"].lineage == u.t.Instructor.heading["instructor"].lineage
    assert u.t.Student.heading["major"].lineage == u.t.Department.heading["dept"].lineage


def test_renames_keep_lineage(u):
    d = frames(u)
    q = u.t.Section * u.t.Instructor.proj("dept", teacher="instructor")
    check(q, d.Section.merge(d.Instructor.rename(columns={"instructor": "teacher"})
                             [["teacher", "dept"]]))
    q = u.t.Student & u.t.Department.proj(major="dept")
    check(q, d.Student[d.Student.major.notna()])
    prereqs = u.t.Course.proj(prereq="course") & u.t.Prerequisite
    check(prereqs, d.Prerequisite[["prereq"]].drop_duplicates())


def test_semantic_check_escape_hatch(u):
    d = frames(u)
    pairs = d.Student.merge(d.Instructor, on=["first", "last"])
    assert len(pairs) > 5
    q = u.t.Student.join(u.t.Instructor, semantic_check=False)
    assert set(q.primary_key) == {"student_id", "instructor"}
    check(q, pairs, ["student_id", "instructor", "first", "last", "dept"])
    q = u.t.Student.restrict(u.t.Instructor, semantic_check=False)
    check(q, d.Student[d.Student.student_id.isin(pairs.student_id)])


# --- fetch API ---------------------------------------------------------------------------------


def _ordered(rows: list[dict], names: list[str]) -> list[tuple]:
    return [tuple(norm(r[n]) for n in names) for r in rows]


def _frame_rows(frame: pd.DataFrame, names: list[str]) -> list[tuple]:
    return [tuple(norm(v) for v in row) for row in frame[names].itertuples(index=False, name=None)]


def test_to_dicts_order_limit_offset(u):
    e = u.d["Enrollment"]
    desc = e.sort_values(ENROLLMENT_KEY, ascending=False)
    assert _ordered(u.t.Enrollment.to_dicts(order_by="KEY DESC", limit=7, offset=3),
                    ENROLLMENT_KEY) == _frame_rows(desc.iloc[3:10], ENROLLMENT_KEY)
    s = u.d["Student"].sort_values(["home_state", "student_id"], ascending=[True, False])
    assert _ordered(u.t.Student.to_dicts(order_by=["home_state", "student_id DESC"], limit=20),
                    ["student_id"]) == _frame_rows(s.head(20), ["student_id"])
    tail = u.t.Student.to_dicts(order_by="dob", offset=590)
    assert _ordered(tail, ["student_id"]) == _frame_rows(
        u.d["Student"].sort_values("dob").iloc[590:], ["student_id"])


def test_to_pandas(u):
    s = u.d["Student"]
    frame = u.t.Student.to_pandas()
    assert list(frame.index.names) == ["student_id"]
    assert list(frame.columns) == STUDENT[1:]
    assert len(frame) == len(s)
    check_frame = frame.reset_index()
    assert_rows(want(check_frame, STUDENT), want(s, STUDENT))
    q = (u.t.Enrollment * u.t.Grade).to_pandas(order_by="KEY", limit=5)
    assert list(q.index.names) == ENROLLMENT_KEY and list(q.columns) == ["grade"]


def test_to_arrays(u):
    c = u.d["Course"].sort_values("course")
    records = u.t.Course.to_arrays(order_by="course")
    assert records.dtype.names == ("course", "dept", "name", "credits")
    assert records["credits"].tolist() == c.credits.tolist()
    codes, credits = u.t.Course.to_arrays("course", "credits", order_by="course")
    assert codes.tolist() == c.course.tolist() and credits.dtype == np.int64
    keys, credits = u.t.Course.to_arrays("credits", include_key=True, order_by="KEY DESC")
    assert keys[:2] == [{"course": x} for x in c.course.tolist()[::-1][:2]]
    phones = u.t.Student.to_arrays("phone", order_by="student_id")
    assert [norm(p) for p in phones] == [norm(p) for p in u.d["Student"].phone]


def test_keys_fetch1_head_tail(u):
    e = u.d["Enrollment"].sort_values(ENROLLMENT_KEY)
    keys = u.t.Enrollment.keys(order_by="KEY DESC", limit=3)
    assert _ordered(keys, ENROLLMENT_KEY) == _frame_rows(e.iloc[::-1].head(3), ENROLLMENT_KEY)
    assert _ordered(u.t.Enrollment.head(5), ENROLLMENT_KEY) == _frame_rows(e.head(5),
                                                                           ENROLLMENT_KEY)
    assert _ordered(u.t.Enrollment.tail(4), ENROLLMENT_KEY) == _frame_rows(e.tail(4),
                                                                           ENROLLMENT_KEY)
    s = u.d["Student"]
    row = s[s.student_id == 1010].iloc[0]
    one = u.t.Student & {"student_id": 1010}
    assert one.fetch1()["dob"] == row.dob
    assert one.fetch1("last") == row["last"]
    assert one.fetch1("first", "home_state") == (row["first"], row.home_state)
    assert one.fetch1("KEY") == {"student_id": 1010}
    with pytest.raises(DataJointError):
        (u.t.Student & {"home_state": "CA"}).fetch1()
    with pytest.raises(DataJointError):
        (u.t.Student & {"student_id": -1}).fetch1()


def test_legacy_fetch(u):
    c = u.d["Course"].sort_values("course")
    with pytest.warns(DeprecationWarning):
        assert u.t.Course.fetch("KEY", order_by="KEY", limit=2) == [
            {"course": x} for x in c.course[:2]]
    with pytest.warns(DeprecationWarning):
        rows = u.t.Course.fetch(as_dict=True, order_by="course DESC", limit=3, offset=1)
    assert [r["course"] for r in rows] == c.course.tolist()[::-1][1:4]
    with pytest.warns(DeprecationWarning):
        names, credits = u.t.Course.fetch("name", "credits", order_by="course")
    assert names.tolist() == c.name.tolist() and credits.tolist() == c.credits.tolist()
    with pytest.warns(DeprecationWarning):
        frame = u.t.Course.fetch(format="frame")
    assert list(frame.index.names) == ["course"] and len(frame) == len(c)
    with pytest.warns(DeprecationWarning):
        records = u.t.Course.fetch(order_by="course")
    assert records["course"].tolist() == c.course.tolist()


def test_len_bool_in(u):
    d = frames(u)
    assert len(u.t.Enrollment) == len(d.Enrollment)
    assert len(u.t.Student * u.t.Enrollment) == len(d.Enrollment)
    assert len(u.t.Enrollment.extend(u.t.Grade)) == len(d.Enrollment)
    assert len(u.t.Student.aggr(u.t.Enrollment, n="count(course)")) == len(d.Student)
    assert len(dj.U("home_state") & u.t.Student) == d.Student.home_state.nunique()
    assert len(u.t.Student & dj.Top(7, "dob")) == 7
    assert len(u.t.Enrollment & dj.Top(5, "KEY DESC", offset=3)) == 5
    assert not (u.t.Student & dj.Top(0, "dob"))
    assert not (u.t.Student & dj.Top(2, "dob", offset=len(d.Student)))
    assert bool(u.t.Student & dj.Top(2, "dob", offset=len(d.Student) - 1))
    assert bool(u.t.Student) and bool(u.t.Student & {"home_state": "CA"})
    assert not (u.t.Student & False) and not (u.t.Student & {"home_state": "ZZ"})
    assert {"student_id": 1003} in u.t.Student
    assert {"student_id": 99} not in u.t.Student
    assert {"home_state": "CA"} in u.t.Student


def test_iteration_streams_beyond_one_page(u):
    e = u.d["Enrollment"]
    assert len(e) > 2000
    rows = list(u.t.Enrollment)
    assert len(rows) == len(e)
    assert _ordered(rows, ENROLLMENT_KEY) == _frame_rows(e.sort_values(ENROLLMENT_KEY),
                                                         ENROLLMENT_KEY)
    grades = list(u.t.Enrollment * u.t.Grade)
    assert len(grades) == len(u.d["Grade"])


# --- hostile strings ---------------------------------------------------------------------------


def test_hostile_strings_match_literally(u):
    s = u.d["Student"]
    check(u.t.Student & {"last": HOSTILE_LAST}, s[s["last"] == HOSTILE_LAST])
    check(u.t.Student & {"first": HOSTILE_FIRST}, s[s["first"] == HOSTILE_FIRST])
    check(u.t.Student & {"last": "O'Hara"}, s[s["last"] == "O'Hara"])
    assert len(u.t.Student & {"first": "100%"}) == 0
    assert len(u.t.Student & {"last": "%"}) == 0
    assert (u.t.Student & {"student_id": 1003}).fetch1("last", "first") == (
        HOSTILE_LAST, HOSTILE_FIRST)
    assert len(u.t.Student) == len(s)


# --- cascading delete through renamed foreign keys ----------------------------------------------


@pytest.fixture
def small(schema):
    data = university.generate(seed=7, n_students=40, n_instructors=16, courses_per_dept=4)
    return university.load(schema, data), data


def _in(frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` matching any row of ``keys`` on the shared columns."""
    if not len(keys):
        return frame.iloc[:0]
    return frame.merge(keys.drop_duplicates())


def test_cascading_delete_through_renamed_keys(small):
    t, d = small
    d = SimpleNamespace(**d)
    teacher = int(d.Section.teacher.value_counts().index[0])
    sections = d.Section[d.Section.teacher == teacher]
    enrollments = _in(d.Enrollment, sections[SECTION_KEY])
    expected = {t.Instructor: 1, t.Section: len(sections),
                t.Section.Meeting: len(_in(d.Meeting, sections[SECTION_KEY])),
                t.Enrollment: len(enrollments),
                t.Grade: len(_in(d.Grade, enrollments[ENROLLMENT_KEY]))}
    assert len(sections) > 1 and len(enrollments) > 1
    preview = (t.Instructor & {"instructor": teacher}).delete_preview()
    assert {k: v for k, v in preview.items() if v} == {
        table.full_name: n for table, n in expected.items() if n}
    before = {table: len(table()) for table in expected}
    assert (t.Instructor & {"instructor": teacher}).delete(prompt=False) == 1
    for table, n in expected.items():
        assert len(table()) == before[table] - n
    assert not t.Section & {"teacher": teacher}


def test_delete_preview_through_prerequisites_and_majors(small):
    t, d = small
    d = SimpleNamespace(**d)
    course = str(d.Prerequisite.prereq.value_counts().index[0])
    prereqs = d.Prerequisite[(d.Prerequisite.course == course) |
                             (d.Prerequisite.prereq == course)]
    sections = d.Section[d.Section.course == course]
    enrollments = _in(d.Enrollment, sections[SECTION_KEY])
    expected = {t.Course: 1, t.Prerequisite: len(prereqs), t.Section: len(sections),
                t.Section.Meeting: len(_in(d.Meeting, sections[SECTION_KEY])),
                t.Enrollment: len(enrollments),
                t.Grade: len(_in(d.Grade, enrollments[ENROLLMENT_KEY]))}
    preview = (t.Course & {"course": course}).delete_preview()
    assert {k: v for k, v in preview.items() if v} == {
        table.full_name: n for table, n in expected.items() if n}
    # a department reaches students through the renamed, nullable Student.major
    dept = str(d.Student.major.value_counts().index[0])
    students = d.Student[d.Student.major == dept]
    courses = d.Course[d.Course.dept == dept]
    sections = d.Section[d.Section.course.isin(courses.course)]
    enrollments = pd.concat([_in(d.Enrollment, sections[SECTION_KEY]),
                             d.Enrollment[d.Enrollment.student_id.isin(students.student_id)]]
                            ).drop_duplicates()
    expected = {t.Department: 1, t.Student: len(students), t.Course: len(courses),
                t.Instructor: int((d.Instructor.dept == dept).sum()),
                t.Prerequisite: int(d.Prerequisite.course.isin(courses.course).sum()),
                t.Section: len(sections),
                t.Section.Meeting: len(_in(d.Meeting, sections[SECTION_KEY])),
                t.Enrollment: len(enrollments),
                t.Grade: len(_in(d.Grade, enrollments[ENROLLMENT_KEY]))}
    assert len(students) and len(enrollments)
    preview = (t.Department & {"dept": dept}).delete_preview()
    assert {k: v for k, v in preview.items() if v} == {
        table.full_name: n for table, n in expected.items() if n}
    assert len(t.Student) == len(d.Student)  # a preview deletes nothing


def test_hostile_insert_in_a_fresh_table(small):
    t, _ = small
    t.Department.insert([{"dept": "X'1", "name": HOSTILE_LAST, "building": HOSTILE_FIRST}])
    assert (t.Department & {"name": HOSTILE_LAST}).fetch1("dept", "building") == (
        "X'1", HOSTILE_FIRST)
    assert len(t.Department & {"name": "%"}) == 0


# --- compositions ------------------------------------------------------------------------------


def test_restricting_a_left_join_by_the_right_side(u):
    d = frames(u)
    ungraded = d.Enrollment.merge(d.Grade, how="left")
    check(u.t.Enrollment.extend(u.t.Grade) & {"grade": None}, ungraded[ungraded.grade.isna()])
    check(u.t.Enrollment.extend(u.t.Grade) & [{"grade": "A"}, {"grade": None}],
          ungraded[ungraded.grade.isna() | (ungraded.grade == "A")])


def test_antijoin_with_a_nullable_renamed_key(u):
    """A NULL major matches no department, so the antijoin keeps it (NOT EXISTS, not NOT IN)."""
    s = u.d["Student"]
    check(u.t.Student - u.t.Department.proj(major="dept"), s[s.major.isna()])
    check(u.t.Student - (u.t.Department & {"dept": "MATH"}).proj(major="dept"),
          s[s.major.isna() | (s.major != "MATH")])


def test_operators_on_aggregations(u):
    d = frames(u)
    counts = d.Student.assign(n=_per_student(d, d.Enrollment.groupby("student_id").size(), 0))
    q = u.t.Student.aggr(u.t.Enrollment, n="count(course)")
    check(q * u.t.Enrollment, counts[["student_id", "n"]].merge(d.Enrollment))
    renamed = q.proj(m="n")
    assert renamed.heading.names == ["student_id", "m"]
    check(renamed & "m > 6", counts[counts.n > 6].rename(columns={"n": "m"}))
    rows = q.to_dicts(order_by=["n DESC", "student_id"], limit=5)
    top = counts.sort_values(["n", "student_id"], ascending=[False, True]).head(5)
    assert _ordered(rows, ["student_id", "n"]) == _frame_rows(top, ["student_id", "n"])
    youngest = d.Student.sort_values("dob", ascending=False).head(5)
    check((u.t.Student & dj.Top(5, "dob DESC")).aggr(u.t.Enrollment, n="count(course)"),
          counts[counts.student_id.isin(youngest.student_id)], ["student_id", "n"])
    check(q.proj(twice="n * 2") & "twice >= 10",
          counts.assign(twice=counts.n * 2).query("twice >= 10"), ["student_id", "twice"])


def test_aggregates_over_nothing(u):
    assert dj.U().aggr(u.t.Student & False, n="count(*)").fetch1("n") == 0
    assert len(dj.U("home_state").aggr(u.t.Student & False, n="count(*)")) == 0
    q = u.t.Student.aggr(u.t.Enrollment & False, n="count(course)", last_term="max(term_year)")
    assert {(r["n"], r["last_term"]) for r in q.to_dicts()} == {(0, None)}


def test_u_with_nulls_and_top(u):
    s = u.d["Student"]
    check(dj.U("major") & u.t.Student, s[["major"]].drop_duplicates())
    check(dj.U("home_state") & (u.t.Student & dj.Top(20, "dob")),
          s.sort_values("dob").head(20)[["home_state"]].drop_duplicates())


def test_union_compositions(u):
    s = u.d["Student"]
    young = s.sort_values("dob", ascending=False).head(3)
    old = s.sort_values("dob").head(3)
    q = (u.t.Student & dj.Top(3, "dob DESC")).proj() + (u.t.Student & dj.Top(3, "dob")).proj()
    check(q, pd.concat([young, old]))
    check(q & {"student_id": int(young.student_id.iloc[0])}, young.head(1))
    check(u.t.Student * q, pd.concat([young, old]), STUDENT)
    check(u.t.Student & q, pd.concat([young, old]))


def test_restriction_by_other_value_kinds(u):
    s = u.d["Student"]
    record = u.t.Student.to_arrays(order_by="student_id")[10]
    check(u.t.Student & record, s[s.student_id == int(record["student_id"])])
    day = s.dob.iloc[20]
    check(u.t.Student & {"dob": day}, s[s.dob == day])
    check(u.t.Student & {"dob": day.isoformat()}, s[s.dob == day])
    check(u.t.Student & [{"student_id": int(i)} for i in s.student_id.iloc[5:9]], s.iloc[5:9])


def test_top_by_renamed_and_computed_attributes(u):
    s = u.d["Student"].rename(columns={"dob": "born"})
    q = u.t.Student.proj(born="dob") & dj.Top(3, "born DESC")
    check(q, s.sort_values("born", ascending=False).head(3))
    c = u.d["Course"].assign(double=u.d["Course"].credits * 2)
    q = u.t.Course.proj(double="credits * 2") & dj.Top(4, ["double DESC", "course"])
    check(q, c.sort_values(["double", "course"], ascending=[False, True]).head(4),
          ["course", "double"])


def test_aggr_name_clash_is_an_error(u):
    with pytest.raises(DataJointError, match="first"):
        u.t.Student.aggr(u.t.Enrollment, ..., first="count(*)")
    with pytest.raises(DataJointError, match="student_id"):
        u.t.Student.aggr(u.t.Enrollment, student_id="count(*)")


def test_aggregate_of_a_date_is_a_date(u):
    s = u.d["Student"]
    q = dj.U("home_state").aggr(u.t.Student, youngest="max(dob)", oldest="min(dob)")
    check(q, s.groupby("home_state").dob.agg(youngest="max", oldest="min").reset_index())
