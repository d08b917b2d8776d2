SELECT t2.student, t2.name 
FROM (SELECT t1.student AS student, t1.name AS name 
FROM uni.student AS t1 ORDER BY t1.name DESC 
 LIMIT %s::INTEGER OFFSET %s::INTEGER) AS t2 
WHERE t2.student = %s
-- params: {'param_1': 3, 'param_2': 1, 'param_3': 1}
