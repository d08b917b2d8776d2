SELECT t1.student, t1.name 
FROM uni.student AS t1 
WHERE EXISTS (SELECT 1 
FROM uni.enroll AS t2 
WHERE t2.student = t1.student)
-- params: {}
