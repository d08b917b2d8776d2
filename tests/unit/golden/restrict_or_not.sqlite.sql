SELECT t1.student, t1.name 
FROM "uni.student" AS t1 
WHERE NOT (t1.name = ? OR t1.student = ?)
-- params: {'param_1': "x'; DROP TABLE student; --", 'param_2': 2}
