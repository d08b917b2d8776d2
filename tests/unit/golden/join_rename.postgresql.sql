SELECT t1.student, t2.course, t2.grade, t1.name AS who 
FROM uni.student AS t1 JOIN uni.enroll AS t2 ON t1.student = t2.student
-- params: {}
