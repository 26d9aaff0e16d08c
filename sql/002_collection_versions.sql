-- streamrag schema, version 2: a change version per collection, for the ETag of
-- GET /v1/search. Every write or delete of a document sets its collection's version to a
-- new value of one sequence, as the last statement of its transaction (so concurrent writers
-- hold the row lock only while they commit). The value is drawn after the row lock is held, so
-- a collection's versions only grow, and the sum over all collections changes whenever any
-- collection does. A random database id makes versions of a recreated database differ.

CREATE SEQUENCE streamrag_change_seq;

CREATE TABLE collection_versions (
  collection text PRIMARY KEY,
  version bigint NOT NULL
);

INSERT INTO collection_versions (collection, version)
SELECT collection, nextval('streamrag_change_seq')
FROM (SELECT DISTINCT collection FROM documents) AS existing;

INSERT INTO streamrag_settings (key, value) VALUES ('database_id', gen_random_uuid()::text);
