-- job: busiest_origins
-- domain: air
-- write_mode: overwrite
-- schedule: dependency
SELECT origin, sum(flights) AS flights, count(*) AS days
FROM air.gold.delay_by_origin_day
GROUP BY origin
