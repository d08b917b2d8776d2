"""The tier itself: DataJoint 2.3.5 and dj_jupyter share one server and read each other's rows."""

from __future__ import annotations

import dj_jupyter as dj


def test_datajoint_writes_dj_jupyter_reads(datajoint, conn, schema_name):
    written = datajoint.run("""
        schema = dj.Schema(ARGS["schema"])

        @schema
        class Subject(dj.Manual):
            definition = '''
            subject_id: int32
            ---
            name: varchar(40)
            weight: float64
            '''

        Subject.insert([(1, "ann", 20.5), (2, "bob", 31.0)])
        result = {"version": dj.__version__, "rows": len(Subject())}
    """, schema=schema_name)
    assert written == {"version": "2.3.5", "rows": 2}
    module = dj.virtual_schema(schema_name, connection=conn)
    rows = module.Subject.to_dicts(order_by="subject_id")
    assert rows == [{"subject_id": 1, "name": "ann", "weight": 20.5},
                    {"subject_id": 2, "name": "bob", "weight": 31.0}]


def test_dj_jupyter_writes_datajoint_reads(datajoint, conn, schema_name):
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id: int32
        ---
        name: varchar(40)
        """

    Subject.insert([{"subject_id": 1, "name": "ann"}, {"subject_id": 2, "name": "bob"}])
    read = datajoint.run("""
        module = dj.VirtualModule("m", ARGS["schema"])
        result = module.Subject.to_dicts(order_by="subject_id")
    """, schema=schema_name)
    assert read == [{"subject_id": 1, "name": "ann"}, {"subject_id": 2, "name": "bob"}]
