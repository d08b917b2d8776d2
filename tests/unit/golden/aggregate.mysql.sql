SELECT t2.student, t2.name, (COUNT(t1.course)) AS n 
FROM uni.student AS t2 LEFT OUTER JOIN uni.enroll AS t1 ON t2.student = t1.student GROUP BY t2.student, t2.name
-- params: {}
