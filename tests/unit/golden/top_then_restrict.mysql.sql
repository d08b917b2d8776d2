SELECT t2.student, t2.name 
FROM (SELECT t1.student AS student, t1.name AS name 
FROM uni.student AS t1 ORDER BY t1.name DESC 
 LIMIT %s, %s) AS t2 
WHERE t2.student = %s
-- params: {'param_1': 1, 'param_2': 3, 'param_3': 1}
