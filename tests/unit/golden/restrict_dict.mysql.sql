SELECT t1.student, t1.name 
FROM uni.student AS t1 
WHERE t1.student = %s AND t1.name IS NULL
-- params: {'param_1': 7}
