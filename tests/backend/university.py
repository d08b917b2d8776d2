"""A deterministic university dataset for the query-algebra tests.

:func:`generate` draws the rows with ``numpy.random.default_rng(seed)`` (no network, no files)
and returns one pandas DataFrame per table; :func:`declare` declares the tables in a
``dj.Schema`` and :func:`load` declares them and bulk-inserts the frames.

Tables (``->`` is a foreign key)::

    Department(dept) name, building
    Instructor(instructor) -> Department, first, last, hire_date
    Student(student_id) first, last, sex, dob, home_state, phone=null,
                        -> [nullable] Department.proj(major='dept')
    Course(course) -> Department, name, credits
    Prerequisite(-> Course, -> Course.proj(prereq='course'))
    Term(term_year, season) start_date
    Section(-> Course, -> Term, section) -> Instructor.proj(teacher='instructor'), room
    Section.Meeting(-> master, weekday) hour                      (a part table)
    Enrollment(-> Student, -> Section)
    LetterGrade(grade) points                                      (a lookup)
    Grade(-> Enrollment) -> LetterGrade

Deliberate traps for semantic matching: ``Department.name`` and ``Course.name`` are unrelated
secondaries of the same name, as are ``first``/``last`` of Student and Instructor. Two students
carry hostile names (quotes, SQL, LIKE wildcards, a backslash) to be matched literally. Dates
of birth are unique, so "the youngest five" is well defined.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd

import dj_jupyter as dj

SEED = 20240517

DEPARTMENTS = [
    ("MATH", "Mathematics", "Euler Hall"),
    ("PHYS", "Physics", "Curie Hall"),
    ("CS", "Computer Science", "Lovelace Hall"),
    ("BIOL", "Biology", "Darwin Hall"),
    ("CHEM", "Chemistry", "Curie Hall"),
    ("HIST", "History", "Gibbon Hall"),
    ("ECON", "Economics", "Smith Hall"),
    ("ART", "Art", "Kahlo Hall"),
]
FIRST = ["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivan", "Jade", "Kai",
         "Lena", "Milo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Vic",
         "Wes", "Xena", "Yara", "Zed"]
LAST = ["Abbot", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones",
        "Khan", "Lopez", "Moore", "Nguyen", "Olsen", "Patel", "Quist", "Reyes", "Smith", "Tran",
        "Usman", "Vega", "Wong", "Young"]
STATES = ["CA", "NY", "TX", "UT", "WA", "MA"]
STATE_WEIGHTS = [0.3, 0.2, 0.15, 0.15, 0.1, 0.1]
LETTER_GRADES = [("A", 4.0), ("A-", 3.7), ("B+", 3.3), ("B", 3.0), ("B-", 2.7), ("C+", 2.3),
                 ("C", 2.0), ("C-", 1.7), ("D", 1.0), ("F", 0.0)]
GRADE_WEIGHTS = [0.2, 0.12, 0.12, 0.14, 0.1, 0.08, 0.08, 0.06, 0.05, 0.05]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
YEARS = [2021, 2022, 2023]
SEASONS = ["Spring", "Fall"]
# Names a careless implementation would splice into SQL or treat as LIKE patterns.
HOSTILE_LAST = "O'Hara\"); DROP TABLE student; --"
HOSTILE_FIRST = "100%_\\n"


def generate(seed: int = SEED, n_students: int = 600, n_instructors: int = 40,
             courses_per_dept: int = 8) -> dict[str, pd.DataFrame]:
    """Every table's rows as a DataFrame, keyed by class name (``Meeting`` for the part)."""
    rng = np.random.default_rng(seed)
    department = pd.DataFrame(DEPARTMENTS, columns=["dept", "name", "building"])
    depts = department["dept"].tolist()
    instructor = _instructors(rng, depts, n_instructors)
    student = _students(rng, depts, n_students)
    course = _courses(rng, department, courses_per_dept)
    prerequisite = _prerequisites(rng, course)
    term = pd.DataFrame([(y, s, dt.date(y, 1 if s == "Spring" else 8, 20))
                         for y in YEARS for s in SEASONS],
                        columns=["term_year", "season", "start_date"])
    section = _sections(rng, course, term, instructor)
    meeting = _meetings(rng, section)
    enrollment = _enrollments(rng, student, section)
    letter = pd.DataFrame(LETTER_GRADES, columns=["grade", "points"])
    graded = enrollment[rng.random(len(enrollment)) < 0.85].reset_index(drop=True)
    grade = graded.assign(grade=rng.choice(letter["grade"].to_numpy(), size=len(graded),
                                           p=GRADE_WEIGHTS))
    return {"Department": department, "Instructor": instructor, "Student": student,
            "Course": course, "Prerequisite": prerequisite, "Term": term, "Section": section,
            "Meeting": meeting, "Enrollment": enrollment, "LetterGrade": letter, "Grade": grade}


def _names(rng: np.random.Generator, size: int) -> tuple[list[str], list[str]]:
    return rng.choice(FIRST, size).tolist(), rng.choice(LAST, size).tolist()


def _instructors(rng: np.random.Generator, depts: list[str], size: int) -> pd.DataFrame:
    first, last = _names(rng, size)
    hired = [dt.date(2000, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 8000, size)]
    return pd.DataFrame({
        "instructor": np.arange(1, size + 1), "dept": [depts[i % len(depts)] for i in range(size)],
        "first": first, "last": last, "hire_date": hired})


def _students(rng: np.random.Generator, depts: list[str], size: int) -> pd.DataFrame:
    first, last = _names(rng, size)
    first[3], last[3] = HOSTILE_FIRST, HOSTILE_LAST
    last[7] = "O'Hara"
    days = rng.choice(3650, size=size, replace=False)  # unique dates of birth
    phones = [f"555-{n:04d}" for n in rng.integers(0, 10000, size)]
    no_phone = rng.random(size) < 0.3
    majors = rng.choice(depts, size).tolist()
    undeclared = rng.random(size) < 0.2
    return pd.DataFrame({
        "student_id": np.arange(1000, 1000 + size),
        "first": first, "last": last,
        "sex": rng.choice(["F", "M"], size).tolist(),
        "dob": [dt.date(1995, 1, 1) + dt.timedelta(days=int(d)) for d in days],
        "home_state": rng.choice(STATES, size, p=STATE_WEIGHTS).tolist(),
        "phone": pd.Series([None if n else p for p, n in zip(phones, no_phone)], dtype=object),
        "major": pd.Series([None if u else m for m, u in zip(majors, undeclared)], dtype=object),
    })


def _courses(rng: np.random.Generator, department: pd.DataFrame, per_dept: int) -> pd.DataFrame:
    rows = []
    for dept, name in zip(department["dept"], department["name"]):
        for k in range(per_dept):
            number = 100 * (1 + k // 3) + 10 * (k % 3) + 1
            rows.append((f"{dept}{number}", dept, f"{name} {number}",
                         int(rng.choice([1, 2, 3, 4, 5], p=[0.1, 0.15, 0.35, 0.3, 0.1]))))
    return pd.DataFrame(rows, columns=["course", "dept", "name", "credits"])


def _prerequisites(rng: np.random.Generator, course: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, group in course.groupby("dept", sort=True):
        codes = group["course"].tolist()
        for position, code in enumerate(codes):
            if position < 3:
                continue
            for prereq in rng.choice(codes[:position], int(rng.integers(0, 3)), replace=False):
                rows.append((code, str(prereq)))
    return pd.DataFrame(rows, columns=["course", "prereq"])


def _sections(rng: np.random.Generator, course: pd.DataFrame, term: pd.DataFrame,
              instructor: pd.DataFrame) -> pd.DataFrame:
    rows = []
    by_dept = instructor.groupby("dept")["instructor"].apply(list).to_dict()
    never = set(course.groupby("dept")["course"].last())  # each department's last course
    for code, dept in zip(course["course"], course["dept"]):
        if code in never:
            continue
        for year, season in zip(term["term_year"], term["season"]):
            if rng.random() > 0.45:
                continue
            letters = "AB" if rng.random() < 0.3 else "A"
            for letter in letters:
                rows.append((code, year, season, letter, int(rng.choice(by_dept[dept])),
                             f"R{int(rng.integers(100, 400))}"))
    return pd.DataFrame(rows, columns=["course", "term_year", "season", "section", "teacher",
                                       "room"])


SECTION_KEY = ["course", "term_year", "season", "section"]
ENROLLMENT_KEY = ["student_id", *SECTION_KEY]


def _meetings(rng: np.random.Generator, section: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key in section[SECTION_KEY].itertuples(index=False):
        count = int(rng.choice([0, 1, 2, 3], p=[0.1, 0.3, 0.4, 0.2]))
        for day in sorted(rng.choice(WEEKDAYS, count, replace=False).tolist()):
            rows.append((*key, day, int(rng.integers(8, 18))))
    return pd.DataFrame(rows, columns=[*SECTION_KEY, "weekday", "hour"])


def _enrollments(rng: np.random.Generator, student: pd.DataFrame,
                 section: pd.DataFrame) -> pd.DataFrame:
    keys = list(section[SECTION_KEY].itertuples(index=False, name=None))
    rows = []
    for student_id in student["student_id"]:
        count = 0 if rng.random() < 0.05 else int(rng.integers(3, 9))
        for index in rng.choice(len(keys), count, replace=False):
            rows.append((int(student_id), *keys[index]))
    return pd.DataFrame(rows, columns=ENROLLMENT_KEY)


def declare(schema: dj.Schema) -> SimpleNamespace:
    """Declare the university tables in ``schema`` (LetterGrade fills itself)."""

    @schema
    class Department(dj.Manual):
        definition = """
        dept: varchar(6)
        ---
        name: varchar(60)
        building: varchar(24)
        """

    @schema
    class Instructor(dj.Manual):
        definition = """
        instructor: int32
        ---
        -> Department
        first: varchar(24)
        last: varchar(64)
        hire_date: date
        """

    @schema
    class Student(dj.Manual):
        definition = """
        student_id: int32
        ---
        first: varchar(24)
        last: varchar(64)
        sex: enum('F', 'M')
        dob: date               # date of birth
        home_state: char(2)
        phone = null: varchar(16)
        -> [nullable] Department.proj(major='dept')
        """

    @schema
    class Course(dj.Manual):
        definition = """
        course: varchar(8)
        ---
        -> Department
        name: varchar(60)
        credits: int16
        """

    @schema
    class Prerequisite(dj.Manual):
        definition = """
        -> Course
        -> Course.proj(prereq='course')
        """

    @schema
    class Term(dj.Manual):
        definition = """
        term_year: int16
        season: varchar(6)
        ---
        start_date: date
        """

    @schema
    class Section(dj.Manual):
        definition = """
        -> Course
        -> Term
        section: char(1)
        ---
        -> Instructor.proj(teacher='instructor')
        room: varchar(8)
        """

        class Meeting(dj.Part):
            definition = """
            -> master
            weekday: varchar(3)
            ---
            hour: int16
            """

    @schema
    class Enrollment(dj.Manual):
        definition = """
        -> Student
        -> Section
        """

    @schema
    class LetterGrade(dj.Lookup):
        definition = """
        grade: varchar(2)
        ---
        points: decimal(3,2)
        """
        contents = [{"grade": g, "points": p} for g, p in LETTER_GRADES]

    @schema
    class Grade(dj.Manual):
        definition = """
        -> Enrollment
        ---
        -> LetterGrade
        """

    return SimpleNamespace(Department=Department, Instructor=Instructor, Student=Student,
                           Course=Course, Prerequisite=Prerequisite, Term=Term, Section=Section,
                           Meeting=Section.Meeting, Enrollment=Enrollment,
                           LetterGrade=LetterGrade, Grade=Grade)


LOAD_ORDER = ["Department", "Instructor", "Student", "Course", "Prerequisite", "Term", "Section",
              "Meeting", "Enrollment", "Grade"]


def load(schema: dj.Schema, data: dict[str, pd.DataFrame]) -> SimpleNamespace:
    """Declare the tables in ``schema`` and insert ``data`` (one bulk insert per table)."""
    tables = declare(schema)
    for name in LOAD_ORDER:
        frame = data[name]
        if len(frame):
            getattr(tables, name).insert(frame)
    return tables
