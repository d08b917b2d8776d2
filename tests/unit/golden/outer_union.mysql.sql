SELECT t5.student, t5.name 
FROM (SELECT t1.student AS student, t1.name AS name 
FROM uni.student AS t1 LEFT OUTER JOIN (SELECT t2.student AS student 
FROM uni.enroll AS t2 
WHERE t2.course = %s) AS t3 ON t1.student = t3.student UNION ALL SELECT t2.student AS student, NULL AS name 
FROM uni.enroll AS t2 
WHERE t2.course = %s AND NOT (EXISTS (SELECT 1 
FROM uni.student AS t4 
WHERE t4.student = t2.student))) AS t5
-- params: {'param_1': 1}
