SELECT t1.student, t1.course, t1.grade, t2.name 
FROM uni.enroll AS t1 LEFT OUTER JOIN uni.student AS t2 ON t1.student = t2.student
-- params: {}
