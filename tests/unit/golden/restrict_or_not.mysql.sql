SELECT t1.student, t1.name 
FROM uni.student AS t1 
WHERE NOT (t1.name = %s OR t1.student = %s)
-- params: {'param_1': "x'; DROP TABLE student; --", 'param_2': 2}
