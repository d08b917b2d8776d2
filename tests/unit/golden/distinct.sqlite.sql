SELECT DISTINCT t1.course 
FROM "uni.enroll" AS t1
-- params: {}
