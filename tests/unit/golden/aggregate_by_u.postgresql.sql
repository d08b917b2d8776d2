SELECT t1.course, (COUNT(*)) AS n 
FROM uni.enroll AS t1 GROUP BY t1.course
-- params: {}
