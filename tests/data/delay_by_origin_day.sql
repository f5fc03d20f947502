-- job: delay_by_origin_day
-- domain: air
-- write_mode: overwrite
-- schedule: dependency
SELECT origin, substr(date, 1, 10) AS day, count(*) AS flights, avg(delay) AS avg_delay
FROM air.silver.flights
GROUP BY origin, day
