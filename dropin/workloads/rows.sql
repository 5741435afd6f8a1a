-- The drop-in's sqlite3 workload: 10^5 rows inserted, indexed, aggregated, sorted and a tenth
-- deleted, in memory (every database page is a malloc'ed block).
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, printf('row-%06d', (x * 7919) % 100000), (x * 31337) % 1000 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT v, count(*) FROM t GROUP BY v ORDER BY count(*) DESC, v LIMIT 5;
SELECT name, v FROM t WHERE name BETWEEN 'row-050000' AND 'row-050004' ORDER BY name;
DELETE FROM t WHERE v < 100;
SELECT count(*), sum(length(name)) FROM t;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name DESC LIMIT 5);
