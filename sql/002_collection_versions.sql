-- streamrag schema, version 2: a change version per collection, for the ETag of
-- GET /v1/search. Every write or delete of a document sets its collection's version to a
-- new value of one sequence, as the last statement of its transaction (so concurrent writers
-- hold the row lock only while they commit). Versions only grow, so the sum over all
-- collections changes whenever any collection does.

CREATE SEQUENCE streamrag_change_seq;

CREATE TABLE collection_versions (
  collection text PRIMARY KEY,
  version bigint NOT NULL
);

INSERT INTO collection_versions (collection, version)
SELECT collection, nextval('streamrag_change_seq')
FROM (SELECT DISTINCT collection FROM documents) AS existing;
